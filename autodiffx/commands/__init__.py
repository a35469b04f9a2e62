"""The ``show``, ``export``, ``check`` and ``graph`` subcommands of ``autodiffx``.

Each takes ``FILE.py:FUNC``: the file is imported as a module from its path (see
:mod:`autodiffx.commands.target`) and ``FUNC`` is looked up in it. Example arguments are
given with ``--args`` (see :mod:`autodiffx.commands.values`). :func:`add_commands` adds
the subcommands to the ``autodiffx`` parser; each sets ``run``, the function that carries
it out and returns the exit status.
"""

from __future__ import annotations

import argparse

from .runners import run_check, run_export, run_graph, run_show

ARGS_HELP = (
    'example arguments: a Python literal, e.g. "(1.0, [1.0, 2.0])" (a tuple gives one '
    "argument per entry; lists become float arrays), or shapes of random inputs, "
    'e.g. "shape:(3,),(2,3),()" (() is a float)'
)
WRT_HELP = "the arguments to differentiate: positions or names, e.g. 0,2 or W,b (default 0)"


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the subcommands to the ``autodiffx`` parser's subparsers."""
    show = commands.add_parser(
        "show", help="print the generated derivative code of a function",
        description="Print the reverse-mode code autodiffx generates for FUNC in FILE.py "
        "(autodiffx.source), coloured on a terminal. With --mode forward, explain what runs "
        "instead (forward mode generates no code).",
    )
    _common(show, args_required=False)
    show.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                      help="which mode to show (default reverse)")
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                      help="colour the code: auto (on a terminal, unless NO_COLOR is set), "
                      "always or never")
    show.set_defaults(run=run_show, subparser=show)

    export = commands.add_parser(
        "export", help="write the gradient as a stand-alone module (NumPy only)",
        description="Write a Python module holding the reverse-mode gradient of FUNC: "
        "FUNC_grad(*args), FUNC_value_and_grad(*args) and the vjp function. It imports "
        "only NumPy and the standard library. The user's globals it reads are copied when "
        "they are numbers, strings or tuples; an array global is refused (pass it as an "
        "argument).",
    )
    _common(export, args_required=False)
    export.add_argument("-o", "--output", required=True, type=_python_file,
                        help="the module to write, e.g. loss_grad.py")
    export.add_argument("--force", action="store_true",
                        help="overwrite the output file if it exists")
    export.set_defaults(run=run_export, subparser=export)

    check = commands.add_parser(
        "check", help="compare a gradient with central differences",
        description="Run autodiffx.check_grad on FUNC at the --args point and print its "
        "report. Exit status 0 when the check passes, 1 when it fails.",
    )
    _common(check, args_required=True)
    check.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                       help="which mode computes the gradient (default reverse)")
    check.add_argument("--rows", type=_count, default=10,
                       help="how many comparisons to list, worst first (default 10)")
    check.set_defaults(run=run_check, subparser=check)

    graph = commands.add_parser(
        "graph", help="draw the computation graph with values and gradients",
        description="Evaluate FUNC at the --args point, recording one node per operation, "
        "run the backward pass, and draw the graph: each edge carries its forward value "
        "(green) and its gradient (red). .dot is written directly; .svg and .png need "
        "Graphviz's dot program (without it the .dot is written instead).",
    )
    graph.add_argument("target", metavar="FILE.py:FUNC", help="the function to draw")
    graph.add_argument("--args", required=True, metavar="EXPR", help=ARGS_HELP)
    graph.add_argument("--wrt", metavar="LIST",
                       help="the arguments that are inputs of the graph, e.g. 0,2 or W,b "
                       "(default: the float ones, or all numeric ones when none is a float)")
    graph.add_argument("--seed", type=int, default=0,
                       help="seed of the random inputs of --args shape:... (default 0)")
    graph.add_argument("-o", "--output", required=True, type=_picture_file,
                       help="the file to write: OUT.svg, OUT.png or OUT.dot")
    graph.set_defaults(run=run_graph, subparser=graph)


def _common(parser: argparse.ArgumentParser, args_required: bool) -> None:
    parser.add_argument("target", metavar="FILE.py:FUNC",
                        help="the function, e.g. model.py:loss")
    parser.add_argument("--wrt", default="0", metavar="LIST", help=WRT_HELP)
    parser.add_argument("--args", required=args_required, metavar="EXPR",
                        help=ARGS_HELP + ("" if args_required else
                                          "; the code is specialised to their ranks"))
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random inputs of --args shape:... (default 0)")


def _python_file(text: str) -> str:
    if not text.endswith(".py"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a .py file name")
    return text


def _picture_file(text: str) -> str:
    from ..computation_graph import FORMATS

    if not text.endswith(FORMATS):
        raise argparse.ArgumentTypeError(
            f"{text!r} must end in {', '.join(FORMATS)}"
        )
    return text


def whole_number(minimum: int):
    """An argparse type: an integer of at least ``minimum``, or a usage message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value

    return parse


_count = whole_number(0)


__all__ = ["add_commands"]
