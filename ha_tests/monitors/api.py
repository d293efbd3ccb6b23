"""api: one OpenStack API call per sample through openstacksdk, as a client of the cloud sees it.

Per service, a small set of cheap read calls:

============== ================================================================ ==============
service        call                                                             default
============== ================================================================ ==============
identity       token-issue, user-list, project-list, service-list, endpoint-list token-issue
compute        server-list, service-list, hypervisor-list, flavor-list          server-list
network        network-list, router-list, port-list, agent-list                 network-list
image          image-list                                                       image-list
volume         volume-list, service-list                                        volume-list
orchestration  stack-list                                                       stack-list
============== ================================================================ ==============

``token-issue`` authenticates afresh at every sample (a new auth plugin, so no cached token
can stand in for keystone): a dead keystone backend (database, memcached, fernet keys) shows
at once. The other calls use the monitor's own connection and its token, as any client
would; they go through openstacksdk's service adapters (catalog lookup and version discovery
done once, in setup) with the GET cache skipped, no connection retries and no silent
re-authentication: a 401 is a failed sample (the next sample authenticates again).

Every request is bounded by the probe's timeout (the keystoneauth session timeout). ok when
the HTTP status is in ``http_status_ok`` (default: any 2xx); the detail records the status,
or the error. Latency is the call's own time.

One connection per monitor, built in setup from the inventory's ``cloud``/``clouds_yaml``;
monitors never share a session or a token.

Examples::

    - type: api
      service: identity              # call: token-issue
      interval: 0.5
    - type: api
      service: compute
      call: service-list
      http_status_ok: [200]
"""

from __future__ import annotations

import threading
import time
from typing import Any, Literal

from pydantic import Field, model_validator

from ha_tests import masking
from ha_tests.errors import CloudUnreachable, PreflightError
from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.validation import StrictModel

#: service -> (openstacksdk proxy attribute, what the catalog calls it, {call: (path, params)})
CALLS: dict[str, tuple[str, str, dict[str, tuple[str, dict[str, Any]] | None]]] = {
    "identity": ("identity", "keystone", {
        "token-issue": None,
        "user-list": ("/users", {}),
        "project-list": ("/projects", {}),
        "service-list": ("/services", {}),
        "endpoint-list": ("/endpoints", {}),
    }),
    "compute": ("compute", "nova", {
        "server-list": ("/servers", {"limit": 1}),
        "service-list": ("/os-services", {}),
        "hypervisor-list": ("/os-hypervisors", {}),
        "flavor-list": ("/flavors", {"limit": 1}),
    }),
    "network": ("network", "neutron", {
        "network-list": ("/networks", {"limit": 1}),
        "router-list": ("/routers", {"limit": 1}),
        "port-list": ("/ports", {"limit": 1}),
        "agent-list": ("/agents", {}),
    }),
    "image": ("image", "glance", {"image-list": ("/images", {"limit": 1})}),
    "volume": ("block_storage", "cinder", {
        "volume-list": ("/volumes", {"limit": 1}),
        "service-list": ("/os-services", {}),
    }),
    "orchestration": ("orchestration", "heat", {"stack-list": ("/stacks", {"limit": 1})}),
}
DEFAULT_CALL = {"identity": "token-issue", "compute": "server-list", "network": "network-list",
                "image": "image-list", "volume": "volume-list", "orchestration": "stack-list"}
SECRET_AUTH_KEYS = ("password", "token", "application_credential_secret", "passcode",
                    "client_secret", "secret")


class ApiParams(StrictModel):
    service: Literal["identity", "compute", "network", "image", "volume", "orchestration"] = \
        "identity"
    call: str | None = Field(None, description="which call; see the table above")
    http_status_ok: list[int] | None = Field(None, description="statuses that count as up "
                                                                "(default: any 2xx)")
    interface: Literal["public", "internal", "admin"] | None = Field(
        None, description="catalog interface (default: the cloud's, usually public)")

    @model_validator(mode="after")
    def _known_call(self):
        calls = CALLS[self.service][2]
        if self.call is not None and self.call not in calls:
            raise ValueError(f"service {self.service} has no call '{self.call}' "
                             f"(known: {', '.join(calls)})")
        return self


def open_connection(ctx, timeout: float, **overrides: Any):
    """A Connection with its OWN config region, session and auth plugin (RunContext.cloud()
    builds a fresh region per call), bounded by the probe's timeout."""
    inventory = ctx.inventory
    try:
        conn = ctx.cloud(**overrides)
    except Exception as exc:  # openstack.exceptions.ConfigException and friends
        raise PreflightError(f"cannot load cloud {inventory.cloud!r} from "
                             f"{inventory.clouds_yaml or 'clouds.yaml'}: {exc}") from None
    conn.session.timeout = float(timeout)
    return conn


def in_catalog(conn, service_type: str) -> bool:
    """Whether the cloud's catalog has the service; raises when the catalog cannot be read.

    Not the SDK's ``has_service``, which answers False for a sign-in that failed too
    (keystone unreachable right after a controller came back): a preflight would then say
    the cloud has no such service."""
    return bool(conn.config.has_service(service_type)
                and conn.get_session_endpoint(service_type))


def preflight_error(text: str, exc: BaseException) -> PreflightError:
    """What a monitor's setup raises for ``exc``: CloudUnreachable (asked again while the
    cloud settles) when nothing answered or a proxy had no backend; a plain PreflightError for
    an answer that will not change by waiting (bad credentials, a missing resource)."""
    from keystoneauth1 import exceptions as ksa

    transient = (ksa.ConnectFailure, ksa.ConnectionError, ksa.ServiceUnavailable,
                 ksa.BadGateway, ksa.GatewayTimeout, ConnectionError)
    seen: BaseException | None = exc
    while seen is not None:  # the SDK wraps keystoneauth's error without ``from``
        if isinstance(seen, transient):
            return CloudUnreachable(text)
        seen = seen.__cause__ or seen.__context__
    return PreflightError(text)


def secrets_of(conn) -> list[str]:
    """The connection's credentials, also handed to the program's masker."""
    auth = conn.config.config.get("auth") or {}
    found = [str(v) for k, v in auth.items() if v and any(s in k for s in SECRET_AUTH_KEYS)]
    masking.add(*found)
    return found


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "******")
    return text


def describe_error(exc: BaseException, secrets: list[str]) -> dict[str, Any]:
    """Small, secret-free facts about a failed call: HTTP status if any, error class, text."""
    detail: dict[str, Any] = {}
    status = getattr(exc, "http_status", None) or getattr(exc, "status_code", None)
    if isinstance(status, int):
        detail["status"] = status
    text = str(exc) or type(exc).__name__
    detail["error"] = scrub(f"{type(exc).__name__}: {text}", secrets)[:300]
    return detail


class ApiMonitor(Monitor):
    Params = ApiParams

    def setup(self) -> None:
        self.call = self.params.call or DEFAULT_CALL[self.params.service]
        attribute, project, calls = CALLS[self.params.service]
        self.request = calls[self.call]
        self.conn = open_connection(self.ctx, self.timeout)
        self.secrets = secrets_of(self.conn)
        self._auth_lock = threading.Lock()
        try:
            if self.params.service != "identity" and \
                    not in_catalog(self.conn, attribute.replace("_", "-")):
                raise PreflightError(f"{self.name}: the cloud has no {self.params.service} "
                                     f"service ({project}) in its catalog")
            self.adapter = getattr(self.conn, attribute)
            if self.params.interface:
                self.adapter.interface = self.params.interface
            # catalog lookup, version discovery and the first token, once (the keystoneauth
            # method: the identity proxy shadows get_endpoint with its endpoint API)
            from keystoneauth1.adapter import Adapter

            if not Adapter.get_endpoint(self.adapter):
                raise PreflightError(f"{self.name}: the cloud has no {self.params.service} "
                                     f"service ({project}) in its catalog")
        except PreflightError:
            raise
        except Exception as exc:
            raise preflight_error(f"{self.name}: cannot reach the {self.params.service} API: "
                                  + describe_error(exc, self.secrets)["error"], exc) from None
        if self.request is None:  # token-issue: remember how to build a fresh auth plugin
            from keystoneauth1 import loading

            config = self.conn.config.config
            self._loader = loading.get_plugin_loader(config["auth_type"])
            self._auth_options = dict(config["auth"])

    def _ok_status(self, status: int) -> bool:
        if self.params.http_status_ok is not None:
            return status in self.params.http_status_ok
        return 200 <= status < 300

    def probe(self) -> ProbeResult:
        started = time.monotonic()
        try:
            if self.request is None:
                return self._token_issue(started)
            path, query = self.request
            response = self.adapter.get(
                path, params=query, raise_exc=False, allow_reauth=False, connect_retries=0,
                status_code_retries=0, skip_cache=True, timeout=self.timeout)
        except Exception as exc:  # keystoneauth ConnectFailure, ConnectTimeout, discovery...
            return ProbeResult(False, detail=describe_error(exc, self.secrets))
        latency = time.monotonic() - started
        status = response.status_code
        if status == 401:
            # never retried silently: this sample failed; the next one authenticates anew
            with self._auth_lock:
                self.conn.session.auth.invalidate()
        detail: dict[str, Any] = {"status": status}
        ok = self._ok_status(status)
        if not ok:
            detail["error"] = scrub(response.text.strip()[:200], self.secrets)
        return ProbeResult(ok, latency, detail)

    def _token_issue(self, started: float) -> ProbeResult:
        plugin = self._loader.load_from_options(**self._auth_options)
        try:
            access = plugin.get_access(self.conn.session)
        except Exception as exc:
            return ProbeResult(False, detail=describe_error(exc, self.secrets))
        latency = time.monotonic() - started
        detail = {"status": 201}
        expires = getattr(access, "expires", None)
        if expires is not None:
            detail["expires_at"] = expires.isoformat()
        return ProbeResult(self._ok_status(201), latency, detail)

    def teardown(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing is best effort
                pass

    def describe(self) -> str:
        return f"{self.name}: {self.params.service} " \
               f"{self.params.call or DEFAULT_CALL[self.params.service]}"
