import numpy as np


def rnn_vjp(W, h0, steps):
    # reverse mode of rnn (golden_functions.py:18)
    tape = []
    # h = h0
    h = h0
    # for _ in range(steps):
    for _ in range(steps):
        # h = np.tanh(W @ h)
        tape.append(h)
        Wh = W @ h
        h = np.tanh(Wh)
    # return np.sum(h**2)
    h_pow_2 = h ** 2
    rnn = np.sum(h_pow_2)

    def pullback(drnn):
        replay = reversed(tape)
        # grad of: return np.sum(h**2)
        dh_pow_2 = np.broadcast_to(drnn, np.shape(h_pow_2))
        dh = dh_pow_2 * (2 * h)
        # grad of: for _ in range(steps):
        dW = np.zeros_like(W)
        h_saved = h
        for _ in reversed(range(steps)):
            # grad of: h = np.tanh(W @ h)
            dWh = dh * (1 - h_saved ** 2)
            h_saved = next(replay)
            dW = dW + np.outer(dWh, h_saved)
            dh = W.T @ dWh
        # grad of: h = h0
        dh0 = dh
        return dW, dh0
    return rnn, pullback
