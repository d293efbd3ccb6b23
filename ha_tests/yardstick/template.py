"""Render a Yardstick task template the way Yardstick does, so task-args mean the same thing.

Yardstick renders with a plain Jinja2 ``Template`` (undefined variables are falsy, so
``{% set x = x or "node1" %}`` falls back to the default), turns ``None`` into ``~`` and
dicts or lists into inline YAML, and refuses a template whose variables have no value and no
``set ... or`` / ``default(`` fallback. Rendering here is sandboxed: a task file is data, and
must not reach Python internals.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

import jinja2
import jinja2.meta
import jinja2.sandbox
import yaml

from ha_tests.errors import InputError, Problem


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
    env = jinja2.sandbox.SandboxedEnvironment(finalize=_finalize_for_yaml)
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
        return env.from_string(text).render(**args)
    except jinja2.TemplateError as exc:
        raise InputError(Problem(file, getattr(exc, "lineno", None), None, "",
                                 f"rendering the template failed: {exc}")) from None
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
            RecursionError) as exc:  # the template's own expressions fail: bad input too
        raise InputError(Problem(file, None, None, "", "rendering the template failed: "
                                 f"{type(exc).__name__}: {exc}")) from None
