"""The catalogue of services discovery looks for: shipped data, extendable by the user's file.

Which names a unit, a container or a Pacemaker resource goes by is knowledge of the
installers, not code; it lives in ``catalog.yaml`` so that a user adds an entry (or corrects
one) without forking.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from ha_tests.errors import InputError, Problem
from ha_tests.validation import StrictModel, check_regex, validate
from ha_tests.yamlsource import load_file

SHIPPED = Path(__file__).with_name("catalog.yaml")


class CatalogEntry(StrictModel):
    process: str
    role: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    units: list[str] = []
    containers: list[str] = []
    pacemaker: list[str] = []
    examples: list[str] = []

    @field_validator("process")
    @classmethod
    def _regex_compiles(cls, value):
        return check_regex(value, "process")

    def matches(self, cmdline: str) -> bool:
        return re.search(self.process, cmdline) is not None


class Catalog:
    """Entries by service name, in the catalogue's order."""

    def __init__(self, entries: dict[str, CatalogEntry]):
        self.root = entries

    def __iter__(self):
        return iter(self.root.items())

    def __getitem__(self, name: str) -> CatalogEntry:
        return self.root[name]

    def __contains__(self, name: str) -> bool:
        return name in self.root

    def names(self) -> list[str]:
        return list(self.root)


def _read(path: Path) -> dict[str, CatalogEntry]:
    data, source = load_file(path)
    if not isinstance(data, dict):
        raise InputError(Problem(str(path), 1, 1, "", "a service catalogue is a mapping of "
                                 "service names", "start with e.g. 'keystone:' and a 'process:'"))
    return {str(name): validate(CatalogEntry, entry, source, prefix=(name,))
            for name, entry in data.items()}


def load_catalog(user_file: str | Path | None = None) -> Catalog:
    """The shipped catalogue, with the user's entries added or replacing ones of that name."""
    entries = _read(SHIPPED)
    if user_file is not None:
        entries.update(_read(Path(user_file)))
    return Catalog(entries)
