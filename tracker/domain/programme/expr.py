"""A small, safe expression language for campaign conditions.

Marketers write Python-looking conditions such as
``engagement >= 12 and abs(medical - general) <= 2``.  The text is parsed with
``ast`` and only a whitelist of constructs is compiled into plain closures, so
nothing a marketer writes can reach attributes, imports or builtins, and the
programme pays the parsing cost once, not per event.

Evaluation never raises.  Arithmetic that cannot be done (division by zero,
numbers mixed with text) yields an *undefined* value: every comparison with it
is false, a condition built on it is false and a bare value expression reads 0.
Comparing a number with text is false too, whatever the operator.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Mapping
from typing import Any

MAX_LENGTH = 500
MAX_NODES = 200
# round(x, -10**9) makes Python build a gigantic power of ten; no real condition needs more.
_MAX_ROUND_DIGITS = 15

Env = Mapping[str, Any]
Evaluator = Callable[[Env], Any]
Comparator = Callable[[Any, Any], bool]


class ExprError(ValueError):
    """An expression that cannot be compiled; the message names the culprit."""


_CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.NamedExpr: "assignment expression (:=)",
    ast.IfExp: "conditional expression (x if c else y)",
    ast.Dict: "dict",
    ast.Set: "set",
    ast.Starred: "starred expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Invert: "~",
    ast.Is: "is",
    ast.IsNot: "is not",
}

_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _same_kind(a: Any, b: Any) -> bool:
    return (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))


def _ordered(compare: Callable[[Any, Any], Any]) -> Comparator:
    return lambda a, b: _same_kind(a, b) and bool(compare(a, b))


def _member(negate: bool) -> Comparator:
    def compare(a: Any, b: Any) -> bool:
        # Substring tests only make sense between texts; `3 in "abc"` would raise.
        if isinstance(b, tuple) or (isinstance(b, str) and isinstance(a, str)):
            return (a in b) != negate
        return False

    return compare


_COMPARISONS: dict[type[ast.cmpop], Comparator] = {
    ast.Eq: _ordered(operator.eq),
    ast.NotEq: _ordered(operator.ne),
    ast.Lt: _ordered(operator.lt),
    ast.LtE: _ordered(operator.le),
    ast.Gt: _ordered(operator.gt),
    ast.GtE: _ordered(operator.ge),
    ast.In: _member(False),
    ast.NotIn: _member(True),
}


def compile_expr(text: str, names: Collection[str]) -> Callable[[Mapping[str, Any]], Any]:
    """Compile ``text`` into a function of a name→value mapping; undefined results read 0."""
    evaluate = _compile(text, names)

    def value(env: Env) -> Any:
        result = evaluate(env)
        return 0 if result is None else result

    return value


def compile_condition(text: str, names: Collection[str]) -> Callable[[Mapping[str, Any]], bool]:
    """Compile ``text`` into a predicate; anything undefined makes it false."""
    evaluate = _compile(text, names)
    return lambda env: bool(evaluate(env))


def _compile(text: str, names: Collection[str]) -> Evaluator:
    if not isinstance(text, str):
        raise ExprError(f"an expression must be a string, got {type(text).__name__}")
    source = text.strip()
    if not source:
        raise ExprError("the expression is empty")
    if len(source) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(source)} characters long, at most {MAX_LENGTH} allowed")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid syntax: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExprError("invalid syntax") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise ExprError(f"the expression is too complex ({count} parts, at most {MAX_NODES})")
    return _Compiler(frozenset(names)).node(tree.body)


class _Compiler:
    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def node(self, node: ast.expr) -> Evaluator:
        if isinstance(node, ast.Constant):
            return _const(_constant(node))
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BoolOp):
            return self.bool_op(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, (ast.List, ast.Tuple)):
            raise ExprError("a list is only allowed on the right of 'in' or 'not in'")
        raise ExprError(f"{_construct(node)} is not allowed")

    def name(self, node: ast.Name) -> Evaluator:
        key = node.id
        if key.startswith("__"):
            raise ExprError(f"dunder name {key!r} is not allowed")
        if key in self.names:
            return lambda env: env.get(key)
        if key in _FUNCTIONS:
            raise ExprError(f"function {key!r} must be called, e.g. {key}(x)")
        allowed = ", ".join(sorted(self.names)) or "(none)"
        raise ExprError(f"unknown name {key!r}; allowed names: {allowed}")

    def bool_op(self, node: ast.BoolOp) -> Evaluator:
        parts = [self.node(value) for value in node.values]
        # Python semantics: the deciding operand is the result, evaluation stops there.
        stop_when = not isinstance(node.op, ast.And)

        def run(env: Env) -> Any:
            result: Any = None
            for part in parts:
                result = part(env)
                if bool(result) is stop_when:
                    return result
            return result

        return run

    def unary(self, node: ast.UnaryOp) -> Evaluator:
        operand = self.node(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda env: not operand(env)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            sign = -1 if isinstance(node.op, ast.USub) else 1

            def signed(env: Env) -> Any:
                value = operand(env)
                return sign * value if _is_number(value) else None

            return signed
        raise ExprError(f"operator {_operator(node.op)} is not allowed")

    def binary(self, node: ast.BinOp) -> Evaluator:
        apply = _ARITHMETIC.get(type(node.op))
        if apply is None:
            raise ExprError(f"operator {_operator(node.op)} is not allowed")
        left, right = self.node(node.left), self.node(node.right)

        def run(env: Env) -> Any:
            a, b = left(env), right(env)
            # Numbers only: "ab" * 10**9 would be a memory bomb, and text arithmetic has no use here.
            if not (_is_number(a) and _is_number(b)):
                return None
            try:
                return apply(a, b)
            except ArithmeticError:
                return None

        return run

    def compare(self, node: ast.Compare) -> Evaluator:
        first = self.node(node.left)
        steps: list[tuple[Comparator, Evaluator]] = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            compare = _COMPARISONS.get(type(op))
            if compare is None:
                raise ExprError(f"operator {_operator(op)} is not allowed")
            if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.List, ast.Tuple)):
                steps.append((compare, _const(tuple(_list_item(item) for item in right.elts))))
            else:
                steps.append((compare, self.node(right)))

        def run(env: Env) -> bool:
            a = first(env)
            for compare, right in steps:
                b = right(env)
                if a is None or b is None or not compare(a, b):
                    return False
                a = b
            return True

        return run

    def call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name):
            raise ExprError(f"{_construct(node.func)} is not allowed")
        name = node.func.id
        if name not in _FUNCTIONS:
            allowed = ", ".join(sorted(_FUNCTIONS))
            raise ExprError(f"call to {name!r} is not allowed; callable functions: {allowed}")
        if node.keywords:
            raise ExprError(f"keyword arguments to {name}() are not allowed")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise ExprError("starred expression is not allowed")
        arity, usage = _ARITY[name]
        if len(node.args) not in arity:
            raise ExprError(f"{name}() called with {len(node.args)} arguments; use {usage}")
        args = [self.node(arg) for arg in node.args]
        function = _FUNCTIONS[name]

        def run(env: Env) -> Any:
            values = [arg(env) for arg in args]
            if not all(_is_number(value) for value in values):
                return None
            return function(*values)

        return run


def _round(value: float, digits: Any = 0) -> Any:
    if not isinstance(digits, int) or isinstance(digits, bool) or abs(digits) > _MAX_ROUND_DIGITS:
        return None
    return round(value, digits)


_FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max, "round": _round}
# min/max need two arguments: with one they would iterate it, which a number cannot be.
_ARITY: dict[str, tuple[range, str]] = {
    "abs": (range(1, 2), "abs(x)"),
    "round": (range(1, 3), "round(x) or round(x, digits)"),
    "min": (range(2, MAX_NODES), "min(a, b, ...)"),
    "max": (range(2, MAX_NODES), "max(a, b, ...)"),
}


def _const(value: Any) -> Evaluator:
    return lambda env: value


def _constant(node: ast.Constant) -> Any:
    value = node.value
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ExprError(f"constant {value!r} is not allowed")


def _list_item(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return _constant(node)
    # `-1` parses as a unary minus applied to 1, not as a constant.
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        number = node.operand.value
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            if isinstance(node.op, ast.USub):
                return -number
            if isinstance(node.op, ast.UAdd):
                return number
    raise ExprError(f"list items must be constants, not {_construct(node)}")


def _construct(node: ast.AST) -> str:
    return _CONSTRUCTS.get(type(node), type(node).__name__)


def _operator(op: ast.AST) -> str:
    return _OPERATOR_SYMBOLS.get(type(op), type(op).__name__)
