"""What the ``show``, ``export``, ``check`` and ``graph`` subcommands do.

Each ``run_*`` takes the parsed arguments and returns the exit status. Errors of the
library (:class:`~autodiffx.errors.AutodiffError`) are left to ``autodiffx.cli``, which
prints them; an exception raised inside the user's own code becomes a
:class:`~autodiffx.errors.UserCodeError` naming the function, so no traceback is shown.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import ArgumentError, AutodiffError, UserCodeError
from . import target as targets
from .calls import check_call, name_rows
from .highlight import highlight, wants_colour
from .values import excerpt, parse_args_expr, parse_wrt


def _wrt(args: argparse.Namespace):
    try:
        return parse_wrt(args.wrt)
    except argparse.ArgumentTypeError as error:
        args.subparser.error(f"argument --wrt: {error}")


def _arguments(args: argparse.Namespace):
    if args.args is None:
        return None
    try:
        return parse_args_expr(args.args, seed=args.seed)
    except argparse.ArgumentTypeError as error:
        args.subparser.error(f"argument --args: {error}")


@contextlib.contextmanager
def _user_code(target: targets.Target) -> Iterator[None]:
    """Turn an exception from inside the user's function into a readable library error."""
    try:
        yield
    except (AutodiffError, KeyboardInterrupt):
        raise
    except Exception as error:
        if not _raised_in(error, target):
            raise  # a bug of autodiffx itself: keep the traceback
        raise UserCodeError(
            f"{target} raised {type(error).__name__}: {error}",
            hint="check that --args matches what the function expects (number of "
            "arguments, shapes)",
        ) from None


def _raised_in(error: BaseException, target: targets.Target) -> bool:
    """Whether the traceback of ``error`` passes through the user's file."""
    path = str(target.path.resolve())
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == path:
            return True
        traceback = traceback.tb_next
    return False


# --------------------------------------------------------------------------- show


def run_show(args: argparse.Namespace) -> int:
    """``autodiffx show``: print the generated code, or explain forward mode."""
    from .. import api

    wrt = _wrt(args)
    example = _arguments(args)
    target = targets.load(args.target)
    if example is not None:
        check_call(target, example, args.args)
    if args.mode == "forward":
        print(forward_explanation(target, wrt, example))
        return 0
    gradient = api.grad(target.function, wrt)
    with _user_code(target):
        text = api.source(gradient, *example) if example else api.source(gradient)
    if example is None:
        text = ("# rank-generic code; give --args to specialise it to your arguments' ranks\n"
                + text)
    print(highlight(text) if wants_colour(sys.stdout, args.color) else text, end="")
    return 0


def forward_explanation(target: targets.Target, wrt, example) -> str:
    """A few lines saying what forward mode runs for ``target`` (it generates no code)."""
    from ..arguments import resolve_wrt
    from ..forward.driver import chunk_size

    indices, _ = resolve_wrt(target.function, wrt, len(example) if example else None)
    code = getattr(target.function, "__code__", None)
    names = code.co_varnames[: code.co_argcount] if code is not None else ()
    named = ", ".join(names[i] if i < len(names) else f"argument {i}" for i in indices)
    lines = [
        f"Forward mode generates no code: grad({target.name}, mode=\"forward\") runs "
        f"{target.name} from {target.path.name} unchanged.",
        f"- The differentiated argument(s) ({named}) become Dual numbers: each carries its "
        "value and a block of k tangent directions.",
        "- Every NumPy call on a Dual reaches its rule in autodiffx.rules (through "
        "__array_ufunc__ / __array_function__), which computes the value with NumPy and "
        "pushes all k tangents through the rule's tangent function.",
        "- One evaluation gives k columns of the Jacobian; n input entries need ceil(n / k) "
        "evaluations. Reverse mode needs one pass for a scalar output, whatever n is.",
    ]
    if example:
        total = sum(int(np.size(example[i])) for i in indices if i < len(example))
        k = chunk_size(total, None)
        passes = math.ceil(total / k) if total else 0
        lines.append(
            f"- For these arguments: n = {total} input entries, k = {k} directions per "
            f"evaluation, so {passes} evaluation(s) of {target.name} (choose k with "
            "grad(..., chunk=k))."
        )
    else:
        lines.append("- Give --args to see n, k and the number of evaluations for your "
                     "arguments.")
    return "\n".join(textwrap.fill(line, 88, subsequent_indent="  ") for line in lines)


# --------------------------------------------------------------------------- export


def run_export(args: argparse.Namespace) -> int:
    """``autodiffx export``: write the stand-alone gradient module."""
    from ..export import export

    wrt = _wrt(args)
    example = _arguments(args)
    target = targets.load(args.target)
    if example is not None:
        check_call(target, example, args.args)
    if Path(args.output).exists() and not args.force:
        raise ArgumentError(f"{args.output} exists; export does not overwrite a file "
                            "unless asked to",
                            hint="pass --force to overwrite it, or name another file with -o")
    name = target.name.rsplit(".", 1)[-1]
    with _user_code(target):
        path = export(target.function, args.output, wrt, example, name)
    print(f"wrote {path}: import it and call {name}_grad(...) or {name}_value_and_grad(...) "
          "(needs NumPy only)")
    return 0


# --------------------------------------------------------------------------- check


def run_check(args: argparse.Namespace) -> int:
    """``autodiffx check``: central differences against the gradient; 1 when it fails."""
    from ..check import check_grad

    wrt = _wrt(args)
    example = _arguments(args)
    target = targets.load(args.target)
    check_call(target, example, args.args)
    with _user_code(target):
        report = check_grad(target.function, *example, wrt=wrt, mode=args.mode,
                            raise_on_failure=False)
    if any(isinstance(item, str) for item in (wrt if isinstance(wrt, tuple) else (wrt,))):
        report = name_rows(report, target)
    print(f"{target} ({args.mode} mode) at --args {excerpt(args.args)}")
    print(report)
    rows = sorted(report.rows, key=lambda row: row[3], reverse=True)[: args.rows]
    if rows:
        width = max(len("where"), *(len(row[0]) for row in rows))
        print(f"\n{'where':<{width}}  {'numeric':>14}  {'gradient':>14}  {'rel. error':>10}")
        for where, numeric, claimed, error in rows:
            print(f"{where:<{width}}  {numeric:>14.8g}  {claimed:>14.8g}  {error:>10.2e}")
        if len(report.rows) > len(rows):
            print(f"... and {len(report.rows) - len(rows)} more (--rows N lists more)")
    return 0 if report.passed else 1


# --------------------------------------------------------------------------- graph


def run_graph(args: argparse.Namespace) -> int:
    """``autodiffx graph``: draw the computation graph of one evaluation."""
    from ..arguments import resolve_wrt
    from ..computation_graph import format_value, render, trace

    wrt = _wrt(args) if args.wrt is not None else None
    example = _arguments(args)
    target = targets.load(args.target)
    check_call(target, example, args.args)
    indices = None if wrt is None else resolve_wrt(target.function, wrt, len(example))[0]
    with _user_code(target):
        graph = trace(target.function, *example, wrt=indices)
    path, note = render(graph, args.output)
    inputs = [n for n in graph.nodes if n.kind == "input"]
    operations = sum(1 for n in graph.nodes if n.kind == "operation")
    print(f"wrote {path}: {operations} operation(s); {target.name} = "
          f"{format_value(graph.value)}")
    for node, gradient in zip(inputs, graph.gradients, strict=True):
        print(f"  d{target.name}/d{node.label} = {format_value(gradient)}")
    if note:
        print(note, file=sys.stderr)
    return 0
