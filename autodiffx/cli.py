"""The ``autodiffx`` command.

``autodiffx ner`` trains the lecture's window classifier briefly on the built-in corpus,
then compares the ways of getting its gradient (reverse mode, forward mode in chunks and
one direction at a time, central differences, the hand derivation) and sweeps the problem
size both ways. It prints tables, writes CSV files and, with matplotlib installed, a plot.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .commands import add_commands, whole_number
from .errors import AutodiffError

_positive_int = whole_number(1)

QUICK = {
    "d": 8,
    "hidden": 16,
    "epochs": 3,
    "sizes": [2, 4, 8, 16],
    "windows": [1, 2, 4, 8, 16],
    "min_time": 0.02,
    "sample": 8,
}
DEFAULT = {
    "d": 50,
    "hidden": 100,
    "epochs": 8,
    "sizes": [5, 10, 20, 35, 50],
    "windows": [1, 2, 4, 8, 16, 32, 64],
    "min_time": 0.1,
    "sample": 24,
}


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values




def _method_list(text: str) -> list[str]:
    from .ner.compare import METHODS

    methods = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise argparse.ArgumentTypeError(
            f"unknown method(s) {', '.join(unknown) or '(none given)'}; choose from "
            f"{', '.join(METHODS)}"
        )
    return methods


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autodiffx",
        description="Differentiate plain NumPy code two ways, and show the work.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    ner = commands.add_parser(
        "ner",
        help="train the CS224N NER window scorer and compare forward and reverse mode",
        description=__doc__.split("\n\n")[1],
    )
    ner.add_argument("--quick", action="store_true",
                     help="small sizes everywhere: the whole run takes well under a minute")
    ner.add_argument("--d", type=_positive_int, help="word-vector size (default 50; quick 8)")
    ner.add_argument("--hidden", type=_positive_int, help="hidden units n (default 100; quick 16)")
    ner.add_argument("--batch", type=_positive_int, default=1,
                     help="windows in the batch whose gradient is compared (default 1)")
    ner.add_argument("--epochs", type=_positive_int, help="training epochs (default 8; quick 3)")
    ner.add_argument("--optimiser", choices=("sgd", "adam"), default="sgd",
                     help="training optimiser (default sgd)")
    ner.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ner.add_argument("--methods", type=_method_list,
                     default=["reverse", "forward-chunked", "forward-single", "central", "hand"],
                     help="comma-separated methods to compare, from: reverse, "
                     "forward-chunked, forward-single, central, hand (default all)")
    ner.add_argument("--chunk", type=_positive_int,
                     help="directions per forward-mode pass (default: chosen by memory)")
    ner.add_argument("--sizes", type=_int_list,
                     help="word-vector sizes d for the input sweep (default 5,10,20,35,50)")
    ner.add_argument("--windows", type=_int_list,
                     help="window counts m for the output sweep (default 1,2,4,...,64)")
    ner.add_argument("--out", type=Path, default=Path("ner-output"),
                     help="folder for the CSV files and the plot (default ./ner-output)")
    ner.add_argument("--no-train", action="store_true",
                     help="skip training; compare at the initial parameters")
    add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "ner":
            return run_ner(args)
        if hasattr(args, "run"):
            return args.run(args)
    except AutodiffError as error:
        print(f"autodiffx: error: {error}", file=sys.stderr)
        return 1
    parser.error(f"unknown command {args.command!r}")
    return 2


def run_ner(args: argparse.Namespace) -> int:
    import numpy as np

    from .ner import compare
    from .ner.corpus import load_split
    from .ner.model import initial_parameters
    from .ner.train import corrupt, train
    from .ner.windows import Vocabulary, stack, windows

    sizes = QUICK if args.quick else DEFAULT
    d = args.d if args.d is not None else sizes["d"]
    hidden = args.hidden if args.hidden is not None else sizes["hidden"]
    epochs = args.epochs if args.epochs is not None else sizes["epochs"]
    train_sentences, test_sentences = load_split("train"), load_split("test")

    print(f"== The NER window scorer (d = {d}, window 5, n = {hidden}) ==")
    if args.no_train:
        vocabulary = Vocabulary.build(train_sentences)
        parameters = initial_parameters(len(vocabulary), d=d, n=hidden, seed=args.seed)
        print("training skipped (--no-train)")
    else:
        run = train(train_sentences, d=d, n=hidden, epochs=epochs, optimiser=args.optimiser,
                    seed=args.seed)
        vocabulary, parameters = run.vocabulary, run.parameters
        curve = ", ".join(f"{loss:.3f}" for loss in run.losses)
        print(f"training: {epochs} epochs of {args.optimiser}, autodiffx reverse-mode "
              f"gradients; loss per epoch: {curve}")
        print(f"held-out split: {run.evaluate(test_sentences)}")

    indices, labels = windows(test_sentences, vocabulary)
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(indices), size=min(args.batch, len(indices)), replace=False)
    E = parameters["E"]
    X = stack(E, indices[chosen])
    X_c = stack(E, corrupt(indices[chosen], len(vocabulary), rng))
    params = (parameters["W"], parameters["b"], parameters["u"], X, X_c)

    progress = compare.Progress(len(args.methods), "comparing")
    rows = compare.compare_methods(params, args.methods, sample=sizes["sample"],
                                   chunk=args.chunk, min_time=sizes["min_time"],
                                   seed=args.seed, progress=progress)
    progress.close()
    print(f"\n== The gradient of the max-margin loss w.r.t. (W, b, u, X, X_c), B = {args.batch} ==")
    print(compare.method_table(rows))

    input_sizes = args.sizes or sizes["sizes"]
    progress = compare.Progress(2 * len(input_sizes), "sweeping d")
    input_rows = compare.sweep_inputs(input_sizes, hidden, args.batch, sizes["min_time"],
                                      args.seed, progress)
    progress.close()
    print("\n== Sweep 1: one output, n inputs (grows with d) ==")
    print(f"{'d':>4}{'inputs':>9}{'reverse × loss':>17}{'forward × loss':>17}")
    for d_value in input_sizes:
        pair = {r["method"]: r for r in input_rows if r["d"] == d_value}
        print(f"{d_value:>4}{pair['reverse']['inputs']:>9}"
              f"{pair['reverse']['ratio_to_loss']:>17.1f}"
              f"{pair['forward-chunked']['ratio_to_loss']:>17.1f}")

    counts = args.windows or sizes["windows"]
    progress = compare.Progress(2 * len(counts), "sweeping m")
    output_rows = compare.sweep_outputs(counts, d, hidden, sizes["min_time"], args.seed,
                                        progress)
    progress.close()
    print("\n== Sweep 2: m outputs (window scores), one input τ ==")
    print(f"{'m':>4}{'forward (1 pass)':>19}{'reverse (m passes)':>21}")
    for m in counts:
        pair = {r["method"]: r for r in output_rows if r["windows"] == m}
        print(f"{m:>4}{compare.format_seconds(pair['forward']['seconds']):>19}"
              f"{compare.format_seconds(pair['reverse']['seconds']):>21}")
    cross = compare.crossover(output_rows)
    each = ", ".join("none" if c is None else str(c) for c in compare.crossovers(output_rows))
    stability = (f"the fastest of {compare.REPEATS} interleaved repeats, each timed as the "
                 f"fastest of {compare.ROUNDS} rounds; each repeat alone gives m = {each}")
    if cross is None:
        print("crossover: reverse mode was not slower than forward mode at any m tried "
              f"({stability})")
    else:
        print(f"crossover: from m = {cross} outputs on, forward mode (1 pass) beats reverse "
              f"mode (m passes) ({stability})")

    out = args.out
    compare.write_csv(out / "methods.csv", compare.measurements_as_rows(rows))
    compare.write_csv(out / "sweep_inputs.csv", input_rows)
    compare.write_csv(out / "sweep_outputs.csv", output_rows)
    print(f"\nwrote {out / 'methods.csv'}, {out / 'sweep_inputs.csv'}, "
          f"{out / 'sweep_outputs.csv'}")
    if compare.plot(input_rows, output_rows, out / "cost.png"):
        print(f"wrote {out / 'cost.png'}")
    else:
        print('no plot: matplotlib is not installed (pip install "autodiffx[plot]")')
    return 0


if __name__ == "__main__":
    sys.exit(main())
