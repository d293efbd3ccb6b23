"""YAML that remembers where every value came from, and refuses to be abused.

Validation errors must name the file, line and column; PyYAML's plain loaders forget
positions, accept duplicate keys silently and expand alias bombs. This loader composes the
node graph, then builds plain Python data itself, recording the mark of every key and value
by its path, rejecting duplicate keys, cyclic aliases and documents that expand too far.
"""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ha_tests.errors import InputError, Problem

#: scenario, inventory, pod and Yardstick files (and what a template renders) stay below this
MAX_FILE_BYTES = 1 << 20
MAX_NODES = 100_000

PathKey = tuple[Any, ...]


@dataclass
class SourceMap:
    """Line/column (1-based) of each value and each mapping key, by path."""

    file: str
    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: PathKey, *, key: bool = False) -> tuple[int | None, int | None]:
        """Best position for a path: the key itself if asked, else the nearest known ancestor."""
        path = tuple(path)
        if key and path in self.keys:
            return self.keys[path]
        while True:
            if path in self.values:
                return self.values[path]
            if not path:
                return (None, None)
            path = path[:-1]

    def problem(self, path: PathKey, message: str, hint: str | None = None,
                *, key: bool = False) -> Problem:
        line, col = self.locate(path, key=key)
        return Problem(self.file, line, col, format_path(path), message, hint)


def format_path(path: PathKey) -> str:
    """`attackers[0].process` style, the way users read their own file."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def did_you_mean(word: str, choices) -> str | None:
    matches = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


class _Builder:
    def __init__(self, source: SourceMap):
        self.source = source
        self.count = 0
        self.active: set[int] = set()

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise InputError(self.source.problem(
                path, f"document expands to more than {MAX_NODES} values",
                "an alias bomb or a runaway anchor? write the values out"))
        if id(node) in self.active:
            raise InputError(self.source.problem(path, "cyclic alias (an anchor refers to itself)",
                                                 "remove the self-reference"))
        mark = node.start_mark
        self.source.values[path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            return _SCALARS.construct_object(node)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise InputError(self.source.problem(path, f"unsupported YAML node {node.tag}"))

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = self.build(value_node, path)
                items = merged if isinstance(merged, list) else [merged]
                for item in items:
                    if not isinstance(item, dict):
                        raise InputError(self.source.problem(path, "'<<' merges only mappings"))
                    for k, v in item.items():
                        result.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError(self.source.problem(path, "mapping keys must be plain scalars"))
            key = _SCALARS.construct_object(key_node)
            if isinstance(key, (list, dict)):
                raise InputError(self.source.problem(path, "mapping keys must be plain scalars"))
            kmark = key_node.start_mark
            if key in result:
                first = self.source.keys.get(path + (key,))
                where = f" (first at line {first[0]})" if first else ""
                raise InputError(Problem(self.source.file, kmark.line + 1, kmark.column + 1,
                                         format_path(path + (key,)),
                                         f"duplicate key '{key}'{where}",
                                         "keep one of them"))
            self.source.keys[path + (key,)] = (kmark.line + 1, kmark.column + 1)
            result[key] = self.build(value_node, path + (key,))
        return result


class _ScalarConstructor(yaml.SafeLoader):
    def __init__(self):  # noqa: D401 - a constructor needs no stream
        yaml.SafeLoader.__init__(self, "")


_SCALARS = _ScalarConstructor()


def load_text(text: str, file: str = "<string>") -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data plus its source map."""
    source = SourceMap(file)
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise InputError(Problem(file, None, None, "",
                                 f"file is larger than {MAX_FILE_BYTES} bytes",
                                 "scenario and inventory files are small; the right file?"))
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise InputError(Problem(file, line, col, "", f"not valid YAML: {exc.problem}",
                                 "check indentation and quoting near this position")) from None
    except yaml.YAMLError as exc:
        raise InputError(Problem(file, None, None, "", f"not valid YAML: {exc}")) from None
    except RecursionError:
        raise InputError(Problem(file, None, None, "", "YAML nested too deeply")) from None
    if node is None:
        return None, source
    try:
        data = _Builder(source).build(node, ())
    except RecursionError:
        raise InputError(Problem(file, None, None, "", "YAML nested too deeply")) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise InputError(Problem(file, mark.line + 1 if mark else None,
                                 mark.column + 1 if mark else None, "",
                                 f"cannot read value: {exc.problem}")) from None
    return data, source


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def read_bytes(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """At most ``limit`` bytes of a regular file, or an InputError that names it.

    The size is what a bounded read returns, not ``st_size``: /dev/zero, a FIFO or a
    /proc file claim a size of 0. The file is opened without blocking (a FIFO with no writer
    would hang the open) and refused unless fstat says it is a regular file.
    """
    file = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(Problem(file, None, None, "", "no such file",
                                 "check the path (ha-tests list shows the shipped scenarios)"))\
            from None
    except OSError as exc:
        raise InputError(Problem(file, None, None, "", f"cannot read: {exc.strerror}"))\
            from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise InputError(Problem(file, None, None, "", f"is {kind}, not a regular file",
                                     "give the path of a scenario, inventory or task file; "
                                     "save piped input to a file first"))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputError(Problem(file, None, None, "", f"cannot read: {exc.strerror}"))\
            from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(Problem(file, None, None, "", f"file is larger than {limit} bytes",
                                 "scenario, inventory and task files are small; the right "
                                 "file?"))
    return b"".join(chunks)


def read_text(path: str | Path, limit: int = MAX_FILE_BYTES) -> str:
    """:func:`read_bytes`, decoded as UTF-8 (an InputError if it is not)."""
    try:
        return read_bytes(path, limit).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(Problem(str(path), None, None, "",
                                 f"not UTF-8 text (byte {exc.start})",
                                 "save the file as UTF-8")) from None


def read_head(path: str | Path, size: int) -> str | None:
    """The first ``size`` bytes of a regular file as text, for sniffing its format; None
    when it cannot be read or is no regular file (the real read then says why)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, size).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def load_file(path: str | Path) -> tuple[Any, SourceMap]:
    return load_text(read_text(path), str(path))
