"""The lecture's workload: a window classifier for locations (CS224N lecture 3).

* :mod:`~autodiffx.ner.corpus`: the shipped LOC corpus (400 training and 100 test
  sentences, ``word/TAG`` per token) and its parser;
* :mod:`~autodiffx.ner.windows`: the vocabulary, 5-word windows, and the input matrix X;
* :mod:`~autodiffx.ner.model`: the scorer s = u·tanh(W x + b) and its max-margin and
  logistic losses, plain NumPy code that autodiffx differentiates;
* :mod:`~autodiffx.ner.hand`: the lecture's hand derivation of the same gradients;
* :mod:`~autodiffx.ner.train`: SGD and Adam, training, and precision/recall/F1.

The training function is not re-exported here, so that ``autodiffx.ner.train`` stays the
module: ``from autodiffx.ner.train import train``.

>>> from autodiffx.ner import load_split, hand_gradient
>>> from autodiffx.ner.train import train
>>> run = train(load_split("train")[:40], d=4, n=8, epochs=1, gradient=hand_gradient)
>>> 0.0 <= run.evaluate(load_split("test")[:10]).f1 <= 1.0
True
"""

from .corpus import Sentence, load_file, load_split, parse_line
from .hand import hand_gradient, hand_gradient_logistic
from .model import initial_parameters, logistic_loss, max_margin_loss, score, xavier
from .train import SGD, Adam, Scores, TrainingRun, default_gradient
from .windows import Vocabulary, scatter, stack, windows

__all__ = [
    "SGD",
    "Adam",
    "Scores",
    "Sentence",
    "TrainingRun",
    "Vocabulary",
    "default_gradient",
    "hand_gradient",
    "hand_gradient_logistic",
    "initial_parameters",
    "load_file",
    "load_split",
    "logistic_loss",
    "max_margin_loss",
    "parse_line",
    "scatter",
    "score",
    "stack",
    "windows",
    "xavier",
]
