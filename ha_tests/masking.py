"""One masker for the whole program: every secret the run knows, blanked out of every object
before it is serialised, printed or logged.

Masking the objects, not the JSON, XML or CSV text written from them, means no escaping
(JSON's ``\\u00e4``, a quote's backslash, XML's ``&amp;``) can hide a secret from the mask.
The writers (events.jsonl, summary.json, junit.xml, CSV), the progress lines and the log
records all go through :data:`MASKER`; whatever learns a secret (the inventory, a token
issued, a password file read) adds it there.

Besides the secrets it was told, the masker always blanks the password of any URL written
``scheme://user:password@host`` and the value of ``X-Auth-Token``/``X-Subject-Token``
headers and Fernet tokens, which no one may have had the chance to add yet.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretBytes, SecretStr

if TYPE_CHECKING:
    from ha_tests.inventory import Inventory

MASK = "***"
#: shorter values are not masked: "admin" or "1234" would blank half a report
MIN_LENGTH = 4
#: names of keys (in clouds.yaml, OS_* variables) whose values are secrets
SECRET_NAME = re.compile(r"password|passwd|passcode|passphrase|secret|token(?!s)", re.I)
#: ``scheme://user:password@`` and, in oslo's multi-host URLs, ``,user:password@``
URL_CREDENTIALS = re.compile(r"(?P<head>(?:[A-Za-z][A-Za-z0-9+.-]*://|,)[^\s:/@,]*:)"
                             r"(?P<password>[^\s/@]+)@")
TOKEN_HEADER = re.compile(r"(?P<head>X-(?:Auth|Subject)-Token['\"]?\s*[:=]\s*['\"]?)"
                          r"(?P<token>[^\s'\",}]+)", re.I)
FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_=-]{40,}")


def secret_text(value: Any) -> str | None:
    if isinstance(value, SecretStr | SecretBytes):
        value = value.get_secret_value()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if value is None or isinstance(value, bool):
        return None
    return str(value)


def url_passwords(url: str) -> list[str]:
    """The password parts of a URL (each host's, in an oslo transport URL), as written and
    decoded."""
    found = []
    for match in URL_CREDENTIALS.finditer(url):
        password = match.group("password")
        found += [password, urllib.parse.unquote(password)]
    return found


class Masker:
    """The set of known secrets and the one function that blanks them out of an object."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, *values: Any) -> None:
        """Remember secrets (str, bytes, SecretStr, numbers); too-short ones are ignored."""
        forms: set[str] = set()
        for value in values:
            text = secret_text(value)
            if text is None:
                continue
            for candidate in (text, text.strip(), *url_passwords(text)):
                forms |= self._spellings(candidate)
        forms = {form for form in forms if len(form) >= MIN_LENGTH}
        with self._lock:
            if forms - self._known:
                self._known |= forms
                ordered = sorted(self._known, key=len, reverse=True)  # longest first
                self._pattern = re.compile("|".join(map(re.escape, ordered)))

    @staticmethod
    def _spellings(secret: str) -> set[str]:
        """The secret and the ways text we did not build may spell it: URL-quoted, or
        JSON-escaped inside a body someone captured as a string."""
        return {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret),
                json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}

    def __contains__(self, value: str) -> bool:
        return value in self._known

    def mask_text(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        text = URL_CREDENTIALS.sub(lambda m: m.group("head") + MASK + "@", text)
        text = TOKEN_HEADER.sub(lambda m: m.group("head") + MASK, text)
        return FERNET_TOKEN.sub(MASK, text)

    def mask(self, value: Any) -> Any:
        """A copy of ``value`` with every secret blanked, through dicts (keys and values),
        lists, tuples and sets; other objects become their masked ``str``, as ``json.dumps``
        with ``default=str`` would have written them."""
        if isinstance(value, str):
            return self.mask_text(value)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return MASK if str(value) in self._known else value
        if isinstance(value, Mapping):
            return {self.mask(k): self.mask(v) for k, v in value.items()}
        if isinstance(value, tuple):
            return tuple(self.mask(v) for v in value)
        if isinstance(value, list | set | frozenset):
            return [self.mask(v) for v in value]
        if isinstance(value, SecretStr | SecretBytes):
            return MASK
        if isinstance(value, bytes):
            return self.mask_text(value.decode("utf-8", "replace"))
        return self.mask_text(str(value))


#: the program's one masker
MASKER = Masker()


def add(*values: Any) -> None:
    MASKER.add(*values)


def mask(value: Any) -> Any:
    return MASKER.mask(value)


def mask_text(text: str) -> str:
    return MASKER.mask_text(text)


# -- what the run knows ------------------------------------------------------------------------
def secret_values(data: Any) -> list[Any]:
    """Values under secret-sounding keys anywhere in a parsed YAML/JSON document."""
    found: list[Any] = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, Mapping | list):
                found += secret_values(value)
            elif isinstance(key, str) and SECRET_NAME.search(key) and value:
                found.append(value)
            elif isinstance(value, str):
                found += url_passwords(value)
    elif isinstance(data, list):
        for item in data:
            found += secret_values(item)
    return found


def _read(path: str | Path) -> str | None:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return None


def clouds_yaml_secrets(path: str | Path) -> list[Any]:
    """Every credential in a clouds.yaml and the secure.yaml beside it, of every cloud."""
    import yaml

    found: list[Any] = []
    path = Path(path).expanduser()
    for candidate in (path, path.with_name("secure.yaml")):
        text = _read(candidate)
        if text is None:
            continue
        try:
            found += secret_values(yaml.safe_load(text))
        except yaml.YAMLError:
            continue
    return found


def environment_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """The runner's own ``OS_*`` credentials (``OS_PASSWORD``, ``OS_TOKEN``, ...): never
    passed to a command, but masked should anything echo them."""
    environ = os.environ if environ is None else environ
    found: list[str] = []
    for key, value in environ.items():
        if not key.startswith("OS_"):
            continue
        if SECRET_NAME.search(key.removeprefix("OS_")):
            found.append(value)
        else:
            found += url_passwords(value)  # OS_AUTH_URL=https://user:password@...
    return found


def key_file_lines(path: str | None) -> list[str]:
    """The body lines of an SSH private key (its base64), never its BEGIN/END armour."""
    text = _read(path) if path else None
    if not text or "PRIVATE KEY" not in text:
        return []
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.startswith("-----") and len(line.strip()) >= 16]


def inventory_secrets(inventory: Inventory) -> list[Any]:
    """Every secret an inventory holds or points at: SSH passwords and private keys, the
    inline ``auth:`` password, clouds.yaml credentials, BMC passwords, ``password_file``
    contents and URL passwords, the notification bus URL and its password."""
    found: list[Any] = []
    for settings in [inventory.ssh] + [n.ssh for n in inventory.nodes if n.ssh]:
        found.append(settings.password)
        found += key_file_lines(settings.key_file)
    if inventory.auth is not None:
        found.append(inventory.auth.password)
        found += url_passwords(inventory.auth.auth_url)
    if inventory.clouds_yaml:
        found += clouds_yaml_secrets(inventory.clouds_yaml)
    for node in inventory.nodes:
        bmc = node.bmc
        if bmc is None:
            continue
        found.append(bmc.password)
        if bmc.password_file:
            contents = _read(bmc.password_file)
            found += [contents, contents.rstrip("\r\n")] if contents else []
        found += url_passwords(bmc.url or "")
    if inventory.notifications is not None:
        url = inventory.notifications.transport_url.get_secret_value()
        found += [url, *url_passwords(url)]
    return [value for value in found if value]


def remember_inventory(inventory: Inventory) -> list[Any]:
    """Add the inventory's secrets and the runner's OS_* credentials to the masker, and
    mask log records from now on; returns what it added."""
    found = inventory_secrets(inventory) + environment_secrets()
    MASKER.add(*found)
    install_log_filter()
    return found


# -- logging -------------------------------------------------------------------------------------
class MaskingFilter(logging.Filter):
    """Blanks secrets out of a record's message, arguments and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: keep its raw text
            message = str(record.msg)
        record.msg, record.args = MASKER.mask_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = MASKER.mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = MASKER.mask_text(record.stack_info)
        return True


_installed = threading.Lock()
_INSTALLED: list[bool] = []


def install_log_filter() -> None:
    """Mask every log record as it is made, whichever logger and handler it goes to (a
    filter on the root logger alone would miss records that propagate from other loggers)."""
    with _installed:
        if _INSTALLED:
            return
        making = logging.getLogRecordFactory()
        masking = MaskingFilter()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = making(*args, **kwargs)
            masking.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _INSTALLED.append(True)

