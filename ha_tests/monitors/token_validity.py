"""token-validity (gap-3): do tokens issued before the fault stay valid through the VIP?

In setup the monitor issues ``tokens`` keystone tokens (default 5) through the VIP, plus one
admin token for asking. Each sample validates those SAME tokens through the VIP
(``GET /v3/auth/tokens``, ``X-Auth-Token``: the admin token, ``X-Subject-Token``: the token
under test), concurrently, bounded by the probe's timeout. A token keystone answers 404 for
is *invalid* (lost: the instance that issued it took it along, or its keys differ); a
transport error or 5xx is an *error* (validation is down, the token's fate is unknown).

ok when the fraction valid is at least ``min_valid_fraction`` (default 1.0: all of them).
The detail records ``fraction_valid`` for this sample and ``lost``, the number of tokens that
have been answered 404 at least once so far, so the report can show the fraction that stayed
valid (``1 - lost / total``). Tokens themselves never appear in the record.

If keystone rejects the admin token (401), the monitor issues a new admin token and asks
again once in the same sample: the question is whether the tokens under test are valid.

Example::

    - type: token-validity
      tokens: 10
      auth_url: http://{vip:api}:5000/v3     # default: the cloud's auth_url (clouds.yaml)
      min_valid_fraction: 1.0
      interval: 0.5
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pydantic import Field

from ha_tests import masking
from ha_tests.errors import PreflightError
from ha_tests.inventory import expand_addresses
from ha_tests.monitors.api import describe_error, open_connection, preflight_error, secrets_of
from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.validation import StrictModel

#: validations in flight at once, per sample
MAX_PARALLEL = 16


class TokenValidityParams(StrictModel):
    tokens: int = Field(5, ge=1, le=200, description="how many tokens to issue in setup")
    auth_url: str | None = Field(None, description="keystone URL through the VIP; "
                                                   "{vip:NAME} expanded; default: the cloud's")
    min_valid_fraction: float = Field(1.0, ge=0.0, le=1.0)


def _v3(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v3") else url + "/v3"


class TokenValidityMonitor(Monitor):
    Params = TokenValidityParams

    def setup(self) -> None:
        from keystoneauth1 import loading

        self.conn = open_connection(self.ctx, self.timeout)
        self.session = self.conn.session
        self.secrets = secrets_of(self.conn)
        config = self.conn.config.config
        options = dict(config["auth"])
        if self.params.auth_url:
            options["auth_url"] = expand_addresses(self.params.auth_url, self.ctx.inventory)
        if not options.get("auth_url"):
            raise PreflightError(f"{self.name}: no auth_url in the cloud config; "
                                 "give 'auth_url'")
        self.url = _v3(options["auth_url"]) + "/auth/tokens"
        self._loader = loading.get_plugin_loader(config["auth_type"])
        self._options = options
        self._lock = threading.Lock()
        self._lost: set[int] = set()
        self._tokens: list[str] = []
        try:
            self._admin = self._issue()
            self._tokens = [self._issue() for _ in range(self.params.tokens)]
        except Exception as exc:
            raise preflight_error(f"{self.name}: cannot issue tokens at "
                                  f"{options['auth_url']}: "
                                  + describe_error(exc, self.secrets)["error"], exc) from None
        self.secrets.extend(self._tokens + [self._admin])

    def _issue(self) -> str:
        plugin = self._loader.load_from_options(**self._options)
        token = plugin.get_access(self.session).auth_token
        masking.add(token)
        return token

    def _validate(self, token: str, admin: str, timeout: float) -> int | str:
        """HTTP status of the validation, or the error text."""
        try:
            response = self.session.request(
                self.url, "GET", authenticated=False, raise_exc=False, connect_retries=0,
                headers={"X-Auth-Token": admin, "X-Subject-Token": token},
                timeout=max(0.05, timeout))
            return response.status_code
        except Exception as exc:
            return describe_error(exc, self.secrets)["error"]

    def _round(self, admin: str, deadline: float) -> list[int | str | None]:
        """Validate every token, at most MAX_PARALLEL at a time, on threads of this probe only:
        requests abandoned at the deadline finish on their own and never queue up in front
        of the next sample's."""
        answers: list[int | str | None] = [None] * len(self._tokens)
        workers = min(MAX_PARALLEL, len(self._tokens))

        def work(first: int) -> None:
            for index in range(first, len(self._tokens), workers):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                answers[index] = self._validate(self._tokens[index], admin, remaining)

        threads = [threading.Thread(target=work, args=(k,), daemon=True,
                                    name=f"tokens-{self.name}") for k in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return list(answers)

    def probe(self) -> ProbeResult:
        started = time.monotonic()
        deadline = started + self.timeout * 0.95
        with self._lock:
            admin = self._admin
        answers = self._round(admin, deadline)
        detail: dict[str, Any] = {}
        if any(a == 401 for a in answers):  # our admin token, not theirs, was refused
            try:
                new_admin = self._issue()
            except Exception as exc:
                detail["admin_token_error"] = describe_error(exc, self.secrets)["error"]
            else:
                with self._lock:
                    self._admin = new_admin
                self.secrets.append(new_admin)
                detail["admin_token_reissued"] = True
                answers = self._round(new_admin, deadline)
        valid = [i for i, a in enumerate(answers) if a == 200]
        invalid = [i for i, a in enumerate(answers) if a == 404]
        with self._lock:
            self._lost.update(invalid)
            lost = len(self._lost)
        total = len(self._tokens)
        errors = [a for a in answers if a not in (200, 404)]
        fraction = len(valid) / total
        detail.update({"valid": len(valid), "invalid": len(invalid), "errors": len(errors),
                       "total": total, "fraction_valid": round(fraction, 4), "lost": lost,
                       "fraction_stayed_valid": round(1 - lost / total, 4)})
        if errors:
            first = errors[0]
            detail["error"] = ("no answer within the probe timeout" if first is None
                               else f"HTTP {first}" if isinstance(first, int) else first)
        ok = fraction >= self.params.min_valid_fraction
        return ProbeResult(ok, time.monotonic() - started, detail)

    def teardown(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # best effort
                pass

    def describe(self) -> str:
        return f"{self.name}: validity of {self.params.tokens} tokens issued before the fault"
