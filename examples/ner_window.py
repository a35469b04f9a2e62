"""The CS224N lecture 3 window scorer, end to end, with gradients from autodiffx.

Is the centre word of a 5-word window part of a location name? The model is
s = u·tanh(W x + b), with x the 5 word vectors of the window stacked, trained with the
max-margin loss J = max(0, 1 − s + s_c) against windows whose centre word was replaced.

    python examples/ner_window.py            # train, print F1, compare the gradients
    python examples/ner_window.py --source   # also print the generated reverse-mode code
"""

import sys

import numpy as np

import autodiffx
from autodiffx.ner import hand_gradient, load_split, max_margin_loss, stack, windows
from autodiffx.ner.model import initial_parameters
from autodiffx.ner.train import corrupt, train

train_sentences, test_sentences = load_split("train"), load_split("test")
print(f"{len(train_sentences)} training and {len(test_sentences)} held-out sentences, e.g.")
example = train_sentences[2]
print("   ", " ".join(f"{w}/{t}" for w, t in zip(example.words, example.tags, strict=True)))

# 1. Train: Adam, 10 epochs; the gradient comes from autodiffx's reverse mode.
run = train(train_sentences, optimiser="adam", epochs=10, seed=0)
print("\nloss per epoch:", " ".join(f"{loss:.3f}" for loss in run.losses))
print("held-out:", run.evaluate(test_sentences))

# 2. One gradient three ways, at the initial parameters (where J > 0 for most windows).
vocabulary = run.vocabulary
parameters = initial_parameters(len(vocabulary), d=50, n=100, seed=0)
indices, is_location = windows(train_sentences, vocabulary)
batch = indices[is_location][:4]  # 4 windows centred on a place name
corrupted = corrupt(batch, len(vocabulary), np.random.default_rng(0))
E = parameters["E"]
arguments = (parameters["W"], parameters["b"], parameters["u"], stack(E, batch),
             stack(E, corrupted))

wrt = (0, 1, 2, 3, 4)  # W, b, u, X, X_c
by_hand = hand_gradient(*arguments)  # δ = u ∘ (1 − h²), ∂J/∂W = δ xᵀ, ...
reverse = autodiffx.grad(max_margin_loss, wrt=wrt)  # generated adjoint code, one pass
forward = autodiffx.grad(max_margin_loss, wrt=wrt, mode="forward")  # one pass per input

total = sum(np.size(a) for a in arguments)
print(f"\nthe gradient w.r.t. (W, b, u, X, X_c): {total} numbers; forward mode takes a moment")
for name, gradient in (("reverse", reverse(*arguments)), ("forward", forward(*arguments))):
    worst = max(
        np.max(np.abs(g - h)) / np.max(np.abs(h)) for g, h in zip(gradient, by_hand, strict=True)
    )
    print(f"  {name} mode vs the hand derivation: largest relative difference {worst:.1e}")

if "--source" in sys.argv:
    print("\nThe generated reverse-mode code (look for the lecture's δ: dz = dh * (1 - h ** 2)):")
    print(autodiffx.source(reverse))
