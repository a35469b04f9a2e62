"""Words to numbers: the vocabulary, the 5-word windows, and the stacked input X.

A window is the centre word with 2 words each side, padded with ``<pad>`` at sentence
edges. Its input vector is the concatenation of the 5 word vectors,
x = [x_{-2}; x_{-1}; x_0; x_{+1}; x_{+2}] in R^{5d}, and a batch of B windows is the
matrix X of shape (5d, B), one window per column, as in the lecture.

>>> from autodiffx.ner.corpus import parse_line
>>> sentence = parse_line("museums/O in/O Paris/LOC")
>>> vocabulary = Vocabulary.build([sentence])
>>> indices, labels = windows([sentence], vocabulary)
>>> [vocabulary.words[i] for i in indices[2]]
['museums', 'in', 'Paris', '<pad>', '<pad>']
>>> labels.tolist()
[False, False, True]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .corpus import Sentence

PAD = "<pad>"
UNK = "<unk>"
UNK_CAPITALISED = "<Unk>"
SPECIAL = (PAD, UNK, UNK_CAPITALISED)
"""Rows 0, 1 and 2 of every vocabulary. Unknown words are read as ``<Unk>`` when they
start with a capital letter and as ``<unk>`` otherwise: an unseen "Tbilisi" and an unseen
"retiring" are very different evidence for a location, and this one bit of word shape is
the only thing the model can know about a word it has never seen."""
HALF_WIDTH = 2
"""Words each side of the centre: windows are 2 * HALF_WIDTH + 1 = 5 words wide."""
WIDTH = 2 * HALF_WIDTH + 1


@dataclass(frozen=True)
class Vocabulary:
    """Words and their row numbers in the word-vector matrix, the :data:`SPECIAL` first."""

    words: tuple[str, ...]

    @classmethod
    def build(cls, sentences: Sequence[Sentence], min_count: int = 1) -> Vocabulary:
        """Every word seen at least ``min_count`` times, in first-seen order.

        Words seen fewer times are read as unknown, so with ``min_count=2`` the training
        data itself contains ``<unk>`` and ``<Unk>`` and their vectors learn what an unseen
        word looks like.
        """
        counts = Counter(word for sentence in sentences for word in sentence.words)
        kept = [
            word for word, count in counts.items() if count >= min_count and word not in SPECIAL
        ]
        return cls((*SPECIAL, *kept))

    def __post_init__(self):
        object.__setattr__(self, "_rows", {word: row for row, word in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self._rows

    def index(self, word: str) -> int:
        """The row of ``word``; for a word not in the vocabulary, ``<Unk>`` or ``<unk>``."""
        row = self._rows.get(word)
        if row is None:
            return 2 if word[:1].isupper() else 1
        return row


def windows(
    sentences: Sequence[Sentence], vocabulary: Vocabulary
) -> tuple[np.ndarray, np.ndarray]:
    """Every window of every sentence: word rows of shape (B, 5), and centre-is-LOC labels."""
    rows, labels = [], []
    padding = [0] * HALF_WIDTH
    for sentence in sentences:
        padded = padding + [vocabulary.index(word) for word in sentence.words] + padding
        for position, tag in enumerate(sentence.tags):
            rows.append(padded[position : position + WIDTH])
            labels.append(tag == "LOC")
    return np.array(rows, dtype=np.intp).reshape(-1, WIDTH), np.array(labels, dtype=bool)


def stack(vectors: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The input matrix X of shape (5d, B): column i is window i's concatenated vectors.

    >>> vectors = np.arange(6.0).reshape(3, 2)  # 3 words, d = 2
    >>> stack(vectors, np.array([[0, 1, 2, 1, 0]]))[:, 0].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 2.0, 3.0, 0.0, 1.0]
    """
    return vectors[indices].reshape(len(indices), -1).T


def scatter(gradient_vectors: np.ndarray, indices: np.ndarray, dX: np.ndarray) -> None:
    """Add ∂J/∂X into the word-vector gradient: each column splits into 5 d-sized pieces.

    A word that occurs twice (in one window or in several) collects both pieces, which is
    why this uses ``np.add.at`` rather than fancy-index assignment.
    """
    d = gradient_vectors.shape[1]
    pieces = dX.T.reshape(len(indices), WIDTH, d)
    np.add.at(gradient_vectors, indices, pieces)
