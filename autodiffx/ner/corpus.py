"""Reading the LOC corpus: one sentence per line, each token written ``word/TAG``.

The shipped corpus lives in ``autodiffx/ner/data/`` (see the ``README.md`` there) and is
read as package data, so it works from an installed wheel as well as from a checkout.

>>> train = load_split("train")
>>> len(train)
400
>>> parse_line("flights to New/LOC York/LOC")
Traceback (most recent call last):
...
autodiffx.errors.ArgumentError: token 'flights' has no /TAG (expected word/LOC or word/O)
  at <string>:1
    flights to New/LOC York/LOC
  hint: write every token as word/TAG, separated by single spaces
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import ArgumentError, Location

TAGS = ("LOC", "O")
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Sentence:
    """A tokenised sentence and one tag per token."""

    words: tuple[str, ...]
    tags: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.words)


def parse_line(line: str, filename: str = "<string>", number: int = 1) -> Sentence:
    """Parse one line of ``word/TAG`` pairs; the word itself may contain ``/``.

    >>> parse_line("in/O Rio/LOC de/LOC Janeiro/LOC").tags
    ('O', 'LOC', 'LOC', 'LOC')
    """
    words, tags = [], []
    for token in line.split():
        word, slash, tag = token.rpartition("/")
        if not slash or not word:
            problem = f"token {token!r} has no /TAG (expected word/LOC or word/O)"
        elif tag not in TAGS:
            problem = f"token {token!r} has tag {tag!r}, which is not one of {TAGS}"
        else:
            words.append(word)
            tags.append(tag)
            continue
        raise ArgumentError(
            problem,
            location=Location(filename, number, text=line),
            hint="write every token as word/TAG, separated by single spaces",
        )
    if not words:
        raise ArgumentError(
            "empty sentence",
            location=Location(filename, number, text=line),
            hint="remove blank lines from the corpus file",
        )
    return Sentence(tuple(words), tuple(tags))


def parse_text(text: str, filename: str = "<string>") -> list[Sentence]:
    """Parse a whole corpus file's text, one sentence per line."""
    return [
        parse_line(line, filename, number)
        for number, line in enumerate(text.splitlines(), start=1)
    ]


def load_file(path: str | Path) -> list[Sentence]:
    """Read a corpus file in the same format as the shipped one (your own data, say)."""
    path = Path(path)
    return parse_text(path.read_text(encoding="utf-8"), str(path))


def load_split(split: str) -> list[Sentence]:
    """The shipped ``"train"`` (400 sentences) or ``"test"`` (100 sentences) split."""
    if split not in SPLITS:
        raise ArgumentError(f"unknown split {split!r}", hint=f"use one of {SPLITS}")
    resource = resources.files("autodiffx.ner").joinpath("data", f"{split}.txt")
    return parse_text(resource.read_text(encoding="utf-8"), f"autodiffx/ner/data/{split}.txt")
