import numpy as np


def layer_vjp(W, x):
    # reverse mode of layer (golden_functions.py:33)
    # return np.tanh(W @ x)
    Wx = W @ x
    layer = np.tanh(Wx)

    def pullback(dlayer):
        # grad of: return np.tanh(W @ x)
        dWx = dlayer * (1 - layer ** 2)
        dW = np.outer(dWx, x)
        dx = W.T @ dWx
        return dW, dx
    return layer, pullback


def two_layers_vjp(W1, W2, x):
    # reverse mode of two_layers (golden_functions.py:37)
    # h = layer(W1, x)
    h, h_pullback = layer_vjp(W1, x)
    # return np.sum(layer(W2, h))
    layer_W2_h, layer_W2_h_pullback = layer_vjp(W2, h)
    two_layers = np.sum(layer_W2_h)

    def pullback(dtwo_layers):
        # grad of: return np.sum(layer(W2, h))
        dlayer_W2_h = np.broadcast_to(dtwo_layers, np.shape(layer_W2_h))
        dW2, dh = layer_W2_h_pullback(dlayer_W2_h)
        # grad of: h = layer(W1, x)
        dW1, dx = h_pullback(dh)
        return dW1, dW2, dx
    return two_layers, pullback
