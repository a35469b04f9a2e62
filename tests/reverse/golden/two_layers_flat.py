import numpy as np


def layer_vjp(dlayer, W, x):
    # vector-Jacobian product of layer (golden_functions.py:33)
    # return np.tanh(W @ x)
    Wx = W @ x
    layer = np.tanh(Wx)
    # grad of: return np.tanh(W @ x)
    dWx = dlayer * (1 - layer ** 2)
    dW = np.outer(dWx, x)
    dx = W.T @ dWx
    return dW, dx


def layer_vjp_2(dlayer, W, x):
    # vector-Jacobian product of layer (golden_functions.py:33)
    # return np.tanh(W @ x)
    Wx = W @ x
    layer = np.tanh(Wx)
    # grad of: return np.tanh(W @ x)
    dWx = dlayer * (1 - layer ** 2)
    dW = np.outer(dWx, x)
    return dW,


def two_layers_grad(W1, W2, x):
    # gradient of two_layers (golden_functions.py:37)
    # h = layer(W1, x)
    h = layer(W1, x)
    # return np.sum(layer(W2, h))
    layer_W2_h = layer(W2, h)
    dtwo_layers = 1.0
    # grad of: return np.sum(layer(W2, h))
    dlayer_W2_h = np.broadcast_to(dtwo_layers, np.shape(layer_W2_h))
    dW2, dh = layer_vjp(dlayer_W2_h, W2, h)
    # grad of: h = layer(W1, x)
    dW1, = layer_vjp_2(dh, W1, x)
    return dW1, dW2
