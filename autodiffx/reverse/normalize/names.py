"""Names: local or global, the value a global name or attribute chain has before the code
runs, and ``grad(f)`` called inside the code, made once and given a global name."""

from __future__ import annotations

import ast
import builtins

from ... import transforms
from ..fence import refuse
from ..source import is_missing


class Names:
    """Global names and static values, for :class:`~autodiffx.reverse.normalize.Normalizer`."""

    def _use_global(self, name: str, node) -> None:
        value = self.source.resolve(name)
        if is_missing(value):
            raise refuse(
                self.source, node, f"the undefined name {name!r}", "define it before calling"
            )
        if not hasattr(builtins, name) or getattr(builtins, name) is not value:
            self.globals_used[name] = value

    def _is_global_expression(self, node) -> bool:
        """``np.pi``, ``np.newaxis``, ``math.e``: attribute chains on a global name."""
        base = node
        while isinstance(base, ast.Attribute):
            base = base.value
        if node is base or not isinstance(base, ast.Name) or base.id in self.locals:
            return False
        value = self._static(node)
        return not is_missing(value) and not callable(value)

    def _static(self, node):
        """The value of a global name or attribute chain, or the missing marker."""
        if isinstance(node, ast.Name):
            if node.id in self.locals:
                return self.source.resolve("\0")
            return self.source.resolve(node.id)
        if isinstance(node, ast.Attribute):
            base = self._static(node.value)
            if is_missing(base):
                return base
            return getattr(base, node.attr, self.source.resolve("\0"))
        return self.source.resolve("\0")

    def _static_value(self, node):
        """A constant, or the value of a global name or attribute chain (else missing)."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Tuple):
            items = [self._static_value(e) for e in node.elts]
            return self.source.resolve("\0") if any(map(is_missing, items)) else tuple(items)
        return self._static(node)

    def _name_transform(self, call: ast.Call) -> ast.Name | None:
        """``autodiffx.grad(f, wrt=1)`` with arguments known before the function runs,
        made once now and given a global name; ``None`` for any other call."""
        grad = self._static(call.func)
        if not transforms.is_grad(grad):
            return None
        arguments = [self._static_value(a) for a in call.args]
        keywords = {k.arg: self._static_value(k.value) for k in call.keywords}
        if any(is_missing(v) for v in [*arguments, *keywords.values()]):
            return None
        try:
            gradient = grad(*arguments, **keywords)
        except Exception:  # a bad grad(...) call raises again when the code runs
            return None
        base = getattr(arguments[0], "__name__", "f") if arguments else "f"
        name = self.namer.fresh(f"grad_{base}", adjoint_too=False)
        self.source.namespace[name] = gradient
        return ast.Name(id=name, ctx=ast.Load())


def load(name: str) -> ast.Name:
    """A node reading ``name``."""
    return ast.Name(id=name, ctx=ast.Load())
