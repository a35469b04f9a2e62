"""Training the window scorer with SGD or Adam, and measuring it on held-out sentences.

The gradient is an argument, so the same loop runs on reverse mode (the default), forward
mode, or the hand derivation::

    run = train(sentences)                                  # autodiffx reverse mode
    run = train(sentences, gradient=hand_gradient)          # the lecture's derivation

A gradient function takes ``(W, b, u, X, X_c)`` (max-margin) or ``(W, b, u, X, y)``
(logistic) and returns the gradients of the loss with respect to ``W, b, u, X`` and, for
max-margin, ``X_c``. The word vectors are trained too: ∂J/∂X splits into five d-sized
pieces per window, each added to its word's vector (:func:`~autodiffx.ner.windows.scatter`).

**Which windows are LOC.** With the logistic loss, σ(s) is P(LOC), so a window is LOC when
s > 0. The max-margin loss only ranks true windows above corrupted ones, so its scores have
no natural zero; after training, the threshold is the score that gives the best F1 on the
*training* windows (the held-out split is never looked at), and a window is LOC when its
score is above it.

>>> from autodiffx.ner.corpus import load_split
>>> from autodiffx.ner.hand import hand_gradient
>>> run = train(load_split("train")[:40], d=4, n=8, epochs=2, gradient=hand_gradient)
>>> len(run.losses)
2
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ArgumentError
from .corpus import Sentence
from .model import Parameters, initial_parameters, logistic_loss, max_margin_loss, score
from .windows import HALF_WIDTH, SPECIAL, Vocabulary, scatter, stack, windows

GradientFunction = Callable[..., tuple[np.ndarray, ...]]
LOSSES = ("max_margin", "logistic")


# --------------------------------------------------------------------------- optimisers


class SGD:
    """Plain stochastic gradient descent: p ← p − η g."""

    def __init__(self, learning_rate: float = 0.3):
        self.learning_rate = learning_rate

    def step(self, parameters: Parameters, gradients: Parameters) -> None:
        """Update ``parameters`` in place."""
        for name, gradient in gradients.items():
            parameters[name] -= self.learning_rate * gradient


class Adam:
    """Adam (Kingma and Ba, 2015): steps scaled by running moments of the gradient."""

    def __init__(
        self,
        learning_rate: float = 0.002,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ):
        self.learning_rate = learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.steps = 0
        self.first: Parameters = {}
        self.second: Parameters = {}

    def step(self, parameters: Parameters, gradients: Parameters) -> None:
        """Update ``parameters`` in place."""
        self.steps += 1
        correction1 = 1.0 - self.beta1**self.steps
        correction2 = 1.0 - self.beta2**self.steps
        for name, gradient in gradients.items():
            first = self.first.setdefault(name, np.zeros_like(gradient))
            second = self.second.setdefault(name, np.zeros_like(gradient))
            first *= self.beta1
            first += (1.0 - self.beta1) * gradient
            second *= self.beta2
            second += (1.0 - self.beta2) * gradient**2
            step = (first / correction1) / (np.sqrt(second / correction2) + self.epsilon)
            parameters[name] -= self.learning_rate * step


OPTIMISERS = {"sgd": SGD, "adam": Adam}


# --------------------------------------------------------------------------- results


@dataclass
class Scores:
    """Precision, recall and F1 of the LOC class, with the counts behind them."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int

    def __str__(self) -> str:
        return (
            f"LOC precision {self.precision:.3f}, recall {self.recall:.3f}, F1 {self.f1:.3f} "
            f"(tp {self.true_positives}, fp {self.false_positives}, "
            f"fn {self.false_negatives})"
        )


@dataclass
class TrainingRun:
    """What :func:`train` returns: the trained model and how training went."""

    parameters: Parameters
    vocabulary: Vocabulary
    loss: str
    losses: list[float] = field(default_factory=list)
    """The mean training loss of each epoch (each batch's loss before its update)."""
    threshold: float = 0.0
    """A window is predicted LOC when its score is above this."""

    def scores(self, sentences: Sequence[Sentence]) -> tuple[np.ndarray, np.ndarray]:
        """The score of every window of ``sentences``, and whether its centre is LOC."""
        indices, labels = windows(sentences, self.vocabulary)
        p = self.parameters
        return score(p["W"], p["b"], p["u"], stack(p["E"], indices)), labels

    def evaluate(self, sentences: Sequence[Sentence]) -> Scores:
        """Precision, recall and F1 for LOC, one decision per window (per token)."""
        s, labels = self.scores(sentences)
        return f1_scores(s > self.threshold, labels)


def f1_scores(predicted: np.ndarray, labels: np.ndarray) -> Scores:
    """Precision, recall and F1 of boolean predictions against boolean labels.

    >>> print(f1_scores(np.array([True, True, False]), np.array([True, False, True])))
    LOC precision 0.500, recall 0.500, F1 0.500 (tp 1, fp 1, fn 1)
    """
    true_positives = int(np.sum(predicted & labels))
    false_positives = int(np.sum(predicted & ~labels))
    false_negatives = int(np.sum(~predicted & labels))
    precision = true_positives / max(true_positives + false_positives, 1)
    recall = true_positives / max(true_positives + false_negatives, 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, true_positives, false_positives, false_negatives)


def best_threshold(s: np.ndarray, labels: np.ndarray) -> float:
    """The threshold with the best F1 on these scores: a midpoint between two scores.

    Predicting the k highest scores as LOC, for every k where the score changes, counts
    true positives with one cumulative sum, so this is one sort, not one pass per k.

    >>> best_threshold(np.array([0.1, 2.0, 3.0, -1.0]), np.array([False, True, True, False]))
    1.05
    """
    order = np.argsort(-s, kind="stable")
    ranked, hits = s[order], labels[order]
    true_positives = np.cumsum(hits)
    predicted = np.arange(1, len(s) + 1)
    f1 = 2 * true_positives / (predicted + np.sum(labels))
    # A cut between positions k-1 and k exists only where the score drops.
    cuts = np.flatnonzero(np.append(ranked[1:] < ranked[:-1], True))
    best = cuts[int(np.argmax(f1[cuts]))]
    if best == len(s) - 1:
        return float(ranked[-1] - 1.0)
    return float((ranked[best] + ranked[best + 1]) / 2)


# --------------------------------------------------------------------------- training


def default_gradient(loss: str = "max_margin", mode: str = "reverse") -> GradientFunction:
    """``autodiffx.grad`` of the loss with respect to everything but the labels."""
    from ..api import grad

    if loss == "max_margin":
        return grad(max_margin_loss, wrt=(0, 1, 2, 3, 4), mode=mode)
    return grad(logistic_loss, wrt=(0, 1, 2, 3), mode=mode)


def corrupt(
    indices: np.ndarray,
    vocabulary_size: int,
    rng: np.random.Generator,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Copies of the windows with the centre replaced by a different random word.

    Without ``weights`` the replacement is uniform over the vocabulary except ``<pad>``
    (row 0) and the centre word itself. With ``weights`` (one per vocabulary row, for
    example word counts) it is drawn in proportion to them, again never the centre word.
    Both include the unknown-word rows: otherwise those only ever appear as the centres of
    true windows (rare place names become ``<Unk>`` under ``min_count=2``), and every unseen
    word in new text would look like a location.
    """
    corrupted = indices.copy()
    centres = indices[:, HALF_WIDTH]
    if weights is None:
        choices = vocabulary_size - 1
        offsets = rng.integers(1, choices, size=len(indices))
        corrupted[:, HALF_WIDTH] = (centres - 1 + offsets) % choices + 1
        return corrupted
    probabilities = np.asarray(weights, dtype=float) / np.sum(weights)
    drawn = rng.choice(vocabulary_size, size=len(indices), p=probabilities)
    clash = drawn == centres
    for _ in range(100):
        if not np.any(clash):
            break
        drawn[clash] = rng.choice(vocabulary_size, size=int(np.sum(clash)), p=probabilities)
        clash = drawn == centres
    corrupted[:, HALF_WIDTH] = drawn
    if np.any(clash):  # nearly all the weight on the centre word itself: fall back
        corrupted[clash] = corrupt(indices[clash], vocabulary_size, rng)
    return corrupted


CORRUPTIONS = ("frequency", "uniform")


def train(
    sentences: Sequence[Sentence],
    *,
    loss: str = "max_margin",
    optimiser: str = "adam",
    learning_rate: float | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    d: int = 50,
    n: int = 100,
    min_count: int = 2,
    corruption: str = "frequency",
    gradient: GradientFunction | None = None,
    seed: int = 0,
) -> TrainingRun:
    """Train the window scorer on ``sentences``; deterministic for a given ``seed``.

    ``loss="max_margin"`` trains on the LOC windows, each against a corrupted twin whose
    centre word is drawn from the vocabulary in proportion to its count in ``sentences``
    (``corruption="frequency"``, the unigram distribution that word2vec's negative sampling
    also starts from), or uniformly (``corruption="uniform"``). Frequency sampling shows
    the model common words, and ``<unk>``, as negatives far more often, which roughly
    halves the false positives on the held-out split. ``loss="logistic"`` trains on every
    window with its LOC/O label. ``gradient`` defaults to :func:`default_gradient`
    (autodiffx reverse mode).
    """
    if loss not in LOSSES:
        raise ArgumentError(f"unknown loss {loss!r}", hint=f"use one of {LOSSES}")
    if optimiser not in OPTIMISERS:
        raise ArgumentError(f"unknown optimiser {optimiser!r}", hint=f"use one of {OPTIMISERS}")
    if corruption not in CORRUPTIONS:
        raise ArgumentError(
            f"unknown corruption {corruption!r}", hint=f"use one of {CORRUPTIONS}"
        )
    vocabulary = Vocabulary.build(sentences, min_count=min_count)
    if len(vocabulary) < len(SPECIAL) + 2:
        raise ArgumentError(
            "the training sentences have fewer than 2 words that occur min_count times",
            hint="pass more sentences or a smaller min_count",
        )
    parameters = initial_parameters(len(vocabulary), d=d, n=n, seed=seed)
    step_size = {} if learning_rate is None else {"learning_rate": learning_rate}
    updater = OPTIMISERS[optimiser](**step_size)
    gradient = gradient or default_gradient(loss)
    rng = np.random.default_rng([seed, 1])

    all_indices, labels = windows(sentences, vocabulary)
    examples = all_indices[labels] if loss == "max_margin" else all_indices
    targets = labels.astype(float)
    counts = np.bincount(all_indices[:, HALF_WIDTH], minlength=len(vocabulary))
    weights = counts if corruption == "frequency" else None
    run = TrainingRun(parameters, vocabulary, loss)
    for _ in range(epochs):
        order = rng.permutation(len(examples))
        batch_losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            indices = examples[batch]
            if loss == "max_margin":
                value, gradients = _max_margin_step(
                    parameters, indices, corrupt(indices, len(vocabulary), rng, weights), gradient
                )
            else:
                value, gradients = _logistic_step(parameters, indices, targets[batch], gradient)
            batch_losses.append(value)
            updater.step(parameters, gradients)
        run.losses.append(float(np.mean(batch_losses)))

    if loss == "max_margin":
        run.threshold = best_threshold(*run.scores(sentences))
    return run


def _max_margin_step(parameters, indices, corrupted, gradient):
    W, b, u, E = parameters["W"], parameters["b"], parameters["u"], parameters["E"]
    X, X_c = stack(E, indices), stack(E, corrupted)
    value = float(max_margin_loss(W, b, u, X, X_c))
    dW, db, du, dX, dX_c = gradient(W, b, u, X, X_c)
    dE = np.zeros_like(E)
    scatter(dE, indices, dX)
    scatter(dE, corrupted, dX_c)
    return value, {"W": dW, "b": db, "u": du, "E": dE}


def _logistic_step(parameters, indices, targets, gradient):
    W, b, u, E = parameters["W"], parameters["b"], parameters["u"], parameters["E"]
    X = stack(E, indices)
    value = float(logistic_loss(W, b, u, X, targets))
    dW, db, du, dX = gradient(W, b, u, X, targets)
    dE = np.zeros_like(E)
    scatter(dE, indices, dX)
    return value, {"W": dW, "b": db, "u": du, "E": dE}
