"""Render a Yardstick task template the way Yardstick does, so task-args mean the same thing.

Yardstick renders with a plain Jinja2 ``Template`` (undefined variables are falsy, so
``{% set x = x or "node1" %}`` falls back to the default), turns ``None`` into ``~`` and
dicts or lists into inline YAML, and refuses a template whose variables have no value and no
``set ... or`` / ``default(`` fallback. Rendering here is sandboxed: a task file is data, and
must not reach Python internals, nor build more than the input limit (``"x" * 500000000``
is refused before it is built, and the output is cut off at the limit).
"""

from __future__ import annotations

import builtins
import functools
import re
from typing import Any

import jinja2
import jinja2.compiler
import jinja2.meta
import jinja2.sandbox
import yaml

from ha_tests.errors import InputError, Problem
from ha_tests.yamlsource import MAX_FILE_BYTES

#: what a template may build: no string, list or output longer, no number with more digits
MAX_RENDER = MAX_FILE_BYTES
_WIDTH = re.compile(r"\d+")


class TooBig(Exception):
    """A template value or its output would outgrow MAX_RENDER."""


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict) else 0


def _refuse_big(what: str, size: float) -> None:
    if size > MAX_RENDER:
        raise TooBig(f"{what} would be {int(size)} long (more than {MAX_RENDER})")


#: calls whose integer arguments are widths or counts of what they build
_SIZED_CALLS = {"ljust", "rjust", "center", "zfill", "expandtabs", "generate_lorem_ipsum",
                "|center", "|indent", "|tojson"}


def _check_arguments(name: str, args: tuple, kwargs: dict) -> None:
    """Before a call that builds by width or count: no width or count beyond the limit."""
    if name not in _SIZED_CALLS:
        return
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool):
            _refuse_big(f"{name}(..., {arg})", abs(arg))


def _check_result(name: str, value: Any) -> Any:
    _refuse_big(f"the result of {name}", _size(value))
    return value


class _BoundedCodeGenerator(jinja2.compiler.CodeGenerator):
    """``a ~ b`` joins through the environment, which checks the size first."""

    def visit_Concat(self, node, frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _BoundedSandbox(jinja2.sandbox.SandboxedEnvironment):
    """The sandbox, with every way a short template could build a huge value checked first:
    operators (``*``, ``**``, ``%``, ``+``, ``~``), method calls and filters."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, **options):
        super().__init__(**options)
        self.filters = {name: self._bounded_filter(name, f) for name, f in self.filters.items()}

    @staticmethod
    def _bounded_filter(name: str, func):
        @functools.wraps(func)
        def bounded(*args, **kwargs):
            values = [a for a in args if not isinstance(a, jinja2.runtime.Context |
                                                         jinja2.Environment |
                                                         jinja2.nodes.EvalContext)]
            _check_arguments(f"|{name}", tuple(values[1:]), kwargs)
            if name == "join" and values:
                items = list(values[0])
                _refuse_big("|join", sum(len(str(i)) for i in items) +
                            len(str(values[1] if len(values) > 1 else "")) * len(items))
                offset = len(args) - len(values)
                args = (*args[:offset], items, *args[offset + 1:])
            if name == "replace" and len(values) >= 3:
                text, old, new = (str(v) for v in values[:3])
                _refuse_big("|replace", len(text) + (len(new) - len(old)) *
                            (text.count(old) if old else len(text) + 1))
            if name == "format" and values:
                for width in _WIDTH.findall(str(values[0])):
                    _refuse_big("|format's width", int(width))
            return _check_result(f"|{name}", func(*args, **kwargs))
        return bounded

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if _size(seq) and isinstance(count, int):
                    _refuse_big("'*'", _size(seq) * count)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            _refuse_big("'**'", right * max(left.bit_length(), 1) / 3.3)  # decimal digits
        elif operator == "%" and isinstance(left, str):
            for width in _WIDTH.findall(left):
                _refuse_big("'%' format width", int(width))
        elif operator == "+":
            _refuse_big("'+'", _size(left) + _size(right))
        return _check_result(f"'{operator}'", super().call_binop(context, operator, left,
                                                                 right))

    def bounded_concat(self, values: tuple) -> str:
        parts = [str(v) for v in values]
        _refuse_big("'~'", sum(map(len, parts)))
        return "".join(parts)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja2's signature
        name = getattr(__obj, "__name__", "a call")
        _check_arguments(name, args, kwargs)
        bound = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(bound, str):
            if name in ("format", "format_map"):
                for width in _WIDTH.findall(bound):
                    _refuse_big(f"{name}'s width", int(width))
            elif name == "join" and args:
                items = [str(i) for i in args[0]]
                _refuse_big("join", sum(map(len, items)) + len(bound) * len(items))
                args = (items, *args[1:])
            elif name == "replace" and len(args) >= 2:
                old, new = str(args[0]), str(args[1])
                _refuse_big("replace", len(bound) + (len(new) - len(old)) *
                            (bound.count(old) if old else len(bound) + 1))
        return _check_result(name, super().call(__context, __obj, *args, **kwargs))


def _finalize_for_yaml(value: Any) -> Any:
    """Values dropped into YAML stay YAML: None is null, containers are inline flow YAML."""
    if value is None:
        return "~"
    if isinstance(value, dict | list):
        return yaml.safe_dump(value, default_flow_style=True).replace("\n", "")
    return value


def parse_task_args(task_args: str | dict | None, source: str = "--task-args") -> dict:
    """Task-args as Yardstick takes them: a mapping, or YAML/JSON text of one."""
    if task_args is None or task_args == "":
        return {}
    if isinstance(task_args, dict):
        return dict(task_args)
    try:
        value = yaml.safe_load(task_args)
    except yaml.YAMLError as exc:
        raise InputError(Problem(source, None, None, "", f"task-args are not YAML/JSON: {exc}",
                                 "e.g. --task-args '{\"attack_host\": \"node2\"}'")) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(Problem(source, None, None, "",
                                 f"task-args must be a mapping, got {type(value).__name__}",
                                 "e.g. --task-args '{\"attack_host\": \"node2\"}'"))
    return value


def _has_fallback(name: str, text: str) -> bool:
    """Yardstick's own test: a `{% set x = x or ...` or `x | default(` gives x a value."""
    if re.search(r"{%\s*set\s+" + re.escape(name) + r"\s*=\s*" + re.escape(name) + r"[^\w]+",
                 text):
        return True
    return re.search(re.escape(name) + r"\s*\|\s*default\(", text) is not None


def render(text: str, task_args: dict | None, file: str) -> str:
    """The rendered task text; line numbers are kept (a `{% set %}` line renders empty)."""
    args = dict(task_args or {})
    env = _BoundedSandbox(finalize=_finalize_for_yaml)
    try:
        ast = env.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(Problem(file, exc.lineno, None, "",
                                 f"not a valid Jinja2 template: {exc.message}")) from None
    undeclared = jinja2.meta.find_undeclared_variables(ast)
    missing = sorted(name for name in undeclared - set(args) - set(dir(builtins))
                     if not _has_fallback(name, text))
    if missing:
        raise InputError(Problem(file, None, None, "",
                                 "the template needs task-args it was not given: "
                                 + ", ".join(missing),
                                 "pass --task-args '{" + ", ".join(f'"{m}": ...'
                                                                   for m in missing) + "}'"))
    try:
        rendered, size = [], 0
        for chunk in env.from_string(text).generate(**args):
            size += len(chunk)
            _refuse_big("the rendered template", size)
            rendered.append(chunk)
        return "".join(rendered)
    except TooBig as exc:
        raise InputError(Problem(file, None, None, "", f"the template builds too much: {exc}",
                                 "a task file renders to a few kilobytes; check the loops "
                                 "and repetitions")) from None
    except jinja2.TemplateError as exc:
        raise InputError(Problem(file, getattr(exc, "lineno", None), None, "",
                                 f"rendering the template failed: {exc}")) from None
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
            RecursionError) as exc:  # the template's own expressions fail: bad input too
        raise InputError(Problem(file, None, None, "", "rendering the template failed: "
                                 f"{type(exc).__name__}: {exc}")) from None
