"""Loops that read one item of an array per step, whose adjoints add into an array the
generated code owns (tests/reverse/test_loop_accumulation.py)."""

import numpy as np


def rnn(W, U, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h)


def columns(xs, v):
    total = 0.0
    for t in range(xs.shape[1]):
        total = total + np.sin(xs[:, t]) @ v
    return total


ROWS = np.array([0, 2, 2, 5, 0])


def repeated_rows(xs):
    total = 0.0
    for t in range(len(ROWS)):
        total = total + np.sum(np.sin(xs[ROWS[t]]) * xs[ROWS[t]])
    return total


def read_twice(xs):
    total = 0.0
    for t in range(xs.shape[0]):
        total = total + xs[t] * xs[t - 1]
    return np.sum(total)


def nested(xs):
    total = 0.0
    for i in range(xs.shape[0]):
        for j in range(xs.shape[1]):
            total = total + np.cos(xs[i, j]) * xs[i, j]
    return total
