"""Turn pydantic's validation errors into problems that name file, line, key and fix."""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, SecretBytes, SecretStr

from ha_tests.errors import InputError, Problem
from ha_tests.masking import SECRET_NAME
from ha_tests.yamlsource import PathKey, SourceMap, did_you_mean

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every input model: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _unwrap(annotation: Any) -> Any:
    """The model class hiding inside Optional[...], list[...], dict[str, ...]."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _unwrap(arg)
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        return _unwrap(args[0]) if args else annotation
    if origin is dict:
        args = typing.get_args(annotation)
        return _unwrap(args[1]) if len(args) == 2 else annotation
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return annotation


def _model_at(model: type[BaseModel], loc: PathKey) -> type[BaseModel] | None:
    """Walk the model's fields along loc (skipping list indices and dict keys)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        fields = current.model_fields
        name = next((n for n, f in fields.items() if part in (n, f.alias)), None)
        if name is None:
            continue  # a list index or a dict key
        current = _unwrap(fields[name].annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def check_regex(value: str | None, field: str) -> str | None:
    """A field validator's body: the value must compile as a Python regular expression."""
    if value is not None:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"'{field}' is not a valid regular expression: {exc}") from None
    return value


def _mentions_secret(annotation: Any) -> bool:
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_mentions_secret(arg) for arg in typing.get_args(annotation))


def is_secret_field(model: type[BaseModel], loc: tuple) -> bool:
    """Whether the value at ``loc`` is a secret (a SecretStr field, or a key named like
    one), so that no error message may repeat it."""
    for index in range(len(loc) - 1, -1, -1):
        part = loc[index]
        if not isinstance(part, str):
            continue
        if SECRET_NAME.search(part):
            return True
        owner = _model_at(model, loc[:index])
        if owner is not None:
            field = next((f for n, f in owner.model_fields.items() if part in (n, f.alias)),
                         None)
            if field is not None:
                return _mentions_secret(field.annotation)
    return False


def allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _user_loc(loc: tuple, source: SourceMap, prefix: PathKey) -> tuple:
    """The error's location in the user's document: pydantic inserts union and validator
    tags (``list[str]``, ``function-after[...]``) that are not keys; a user's own key that
    happens to contain a bracket is kept (the source map knows it)."""
    kept: tuple = ()
    for part in loc:
        if isinstance(part, str) and "[" in part and \
                prefix + kept + (part,) not in source.keys:
            continue
        kept += (part,)
    return kept


def problems_from(exc: pydantic.ValidationError, model: type[BaseModel], source: SourceMap,
                  prefix: PathKey = ()) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = _user_loc(err["loc"], source, prefix)
        path = prefix + loc
        kind = err["type"]
        if kind == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            choices = allowed_keys(owner) if owner else []
            hint = did_you_mean(loc[-1], choices)
            if hint is None and choices:
                hint = "allowed keys: " + ", ".join(sorted(choices))
            problems.append(source.problem(path, f"unknown key '{loc[-1]}'", hint, key=True))
        elif kind == "missing":
            problems.append(source.problem(path, f"missing required key '{loc[-1]}'",
                                           f"add '{loc[-1]}:'"))
        elif kind in ("literal_error", "enum"):
            expected = err.get("ctx", {}).get("expected", "")
            choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",") if c.strip()]
            hint = did_you_mean(err.get("input"), choices) or f"expected {expected}"
            problems.append(source.problem(path, f"{_describe(err.get('input'))} is not allowed",
                                           hint))
        elif is_secret_field(model, loc):  # never repeat a secret, not even a wrong one
            hint = "quote it, e.g. password: '…'" if kind.endswith("_type") else None
            problems.append(source.problem(path, err["msg"].removeprefix("Value error, ")
                                           + " (the value is a secret: not shown)", hint))
        else:
            message = err["msg"]
            if "input" in err and kind not in ("value_error", "assertion_error"):
                message += f" (got {_describe(err['input'])})"
            message = message.removeprefix("Value error, ")
            problems.append(source.problem(path, message))
    return problems


def validate(model: type[M], data: Any, source: SourceMap, prefix: PathKey = ()) -> M:
    """Validate data into model or raise InputError carrying every problem found."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise InputError(problems_from(exc, model, source, prefix)) from None
