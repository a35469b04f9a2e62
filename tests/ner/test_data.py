"""The shipped corpus: loads as package data, parses, is fixed, and is worth learning."""

from collections import Counter
from importlib import resources

import numpy as np
import pytest

from autodiffx.errors import ArgumentError
from autodiffx.ner import corpus, make_corpus
from autodiffx.ner.windows import PAD, UNK, UNK_CAPITALISED, Vocabulary, stack, windows


def test_data_files_are_package_data():
    """Read through importlib.resources, as from an installed wheel."""
    folder = resources.files("autodiffx.ner").joinpath("data")
    for split in corpus.SPLITS:
        assert folder.joinpath(f"{split}.txt").is_file()
    assert folder.joinpath("README.md").is_file()


@pytest.mark.parametrize("split, size", [("train", 400), ("test", 100)])
def test_every_sentence_parses(split, size):
    sentences = corpus.load_split(split)
    assert len(sentences) == size
    for sentence in sentences:
        assert len(sentence.words) == len(sentence.tags) > 0
        assert set(sentence.tags) <= {"LOC", "O"}


def test_split_is_fixed_and_reproducible():
    """The seeded generator writes exactly the committed files, and the splits are disjoint."""
    train, test = make_corpus.generate()
    folder = resources.files("autodiffx.ner").joinpath("data")
    assert folder.joinpath("train.txt").read_text(encoding="utf-8").splitlines() == train
    assert folder.joinpath("test.txt").read_text(encoding="utf-8").splitlines() == test
    assert not set(train) & set(test)


def test_corpus_has_something_to_learn():
    train, test = corpus.load_split("train"), corpus.load_split("test")
    tags = Counter(tag for sentence in train + test for tag in sentence.tags)
    assert 0.08 < tags["LOC"] / (tags["LOC"] + tags["O"]) < 0.2
    assert sum("LOC" not in s.tags for s in train) > 40  # sentences with no location

    def names(sentences):
        found = set()
        for sentence in sentences:
            current = []
            for word, tag in zip(sentence.words, sentence.tags, strict=True):
                if tag == "LOC":
                    current.append(word)
                elif current:
                    found.add(" ".join(current))
                    current = []
            if current:
                found.add(" ".join(current))
        return found

    train_names, test_names = names(train), names(test)
    assert len(train_names) > 200
    assert {"New York", "Rio de Janeiro", "Alps"} <= train_names | test_names
    assert sum(" " in name for name in train_names) > 30  # multi-word names
    unseen = test_names - train_names
    assert len(unseen) > 30  # places met only at test time


def test_articles_and_place_like_people_are_tagged_o():
    lines = " ".join(
        resources.files("autodiffx.ner").joinpath("data", f"{split}.txt").read_text()
        for split in corpus.SPLITS
    ).split()
    counts = Counter(lines)
    assert counts["the/LOC"] == 0 and counts["the/O"] > 0
    assert counts["Alps/LOC"] > 0
    assert any(counts[f"{name}/O"] for name in ("Florence", "Sydney", "Georgia", "Paris"))
    assert counts["Madrid/O"] > 0 and counts["Madrid/LOC"] > 0  # Real Madrid is no place


@pytest.mark.parametrize(
    "line, problem",
    [
        ("flights to/O Paris/LOC", "has no /TAG"),
        ("flights/O to/O Paris/PLACE", "is not one of"),
        ("   ", "empty sentence"),
        ("/LOC", "has no /TAG"),
    ],
)
def test_bad_lines_are_refused_with_their_place(line, problem):
    with pytest.raises(ArgumentError, match=problem) as caught:
        corpus.parse_text(f"ok/O\n{line}", "mine.txt")
    assert "mine.txt:2" in str(caught.value)


def test_a_word_may_contain_a_slash(tmp_path):
    path = tmp_path / "own.txt"
    path.write_text("AC/DC/O played/O in/O Oslo/LOC\n", encoding="utf-8")
    (sentence,) = corpus.load_file(path)
    assert sentence.words[0] == "AC/DC" and sentence.tags == ("O", "O", "O", "LOC")


def test_unknown_split_is_refused():
    with pytest.raises(ArgumentError, match="unknown split"):
        corpus.load_split("dev")


# --------------------------------------------------------------------------- windows


def test_windows_are_padded_at_sentence_edges():
    sentence = corpus.parse_line("museums/O in/O Paris/LOC are/O amazing/O")
    vocabulary = Vocabulary.build([sentence])
    indices, labels = windows([sentence, sentence], vocabulary)
    assert indices.shape == (10, 5)
    assert [vocabulary.words[i] for i in indices[0]] == [PAD, PAD, "museums", "in", "Paris"]
    assert [vocabulary.words[i] for i in indices[2]] == ["museums", "in", "Paris", "are",
                                                         "amazing"]
    assert [vocabulary.words[i] for i in indices[4]] == ["Paris", "are", "amazing", PAD, PAD]
    assert labels.tolist() == [False, False, True, False, False] * 2


def test_unknown_words_keep_their_capital():
    vocabulary = Vocabulary.build([corpus.parse_line("in/O Paris/LOC in/O")], min_count=2)
    assert vocabulary.words == (PAD, UNK, UNK_CAPITALISED, "in")
    assert vocabulary.index("Paris") == vocabulary.index("Tbilisi") == 2
    assert vocabulary.index("retiring") == 1


def test_stack_concatenates_word_vectors_column_by_column():
    vectors = np.random.default_rng(0).normal(size=(6, 3))
    indices = np.array([[0, 1, 2, 3, 4], [5, 5, 0, 1, 1]])
    X = stack(vectors, indices)
    assert X.shape == (15, 2)
    for column, rows in enumerate(indices):
        np.testing.assert_array_equal(X[:, column], np.concatenate(vectors[rows]))
