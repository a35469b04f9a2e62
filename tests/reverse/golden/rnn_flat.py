import numpy as np


def rnn_grad(W, h0, steps):
    # gradient of rnn (golden_functions.py:18)
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
    drnn = 1.0
    replay = len(tape)
    # grad of: return np.sum(h**2)
    dh_pow_2 = np.broadcast_to(drnn, np.shape(h_pow_2))
    dh = dh_pow_2 * (2 * h)
    # grad of: for _ in range(steps):
    dW = np.zeros_like(W)
    h_saved = h
    for _ in range(steps)[::-1]:
        # grad of: h = np.tanh(W @ h)
        dWh = dh * (1 - h_saved ** 2)
        replay = replay - 1
        h_saved = tape[replay]
        dW = dW + np.outer(dWh, h_saved)
        dh = W.T @ dWh
    return dW,
