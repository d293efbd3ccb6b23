"""What volume-cycle and server-cycle share: create a resource, wait until it is ready, delete it.

A tenant's workload, sampled: each probe creates one resource named
``ha-tests-<monitor>-<n>``, polls it until it is ready or failed within the probe's
timeout, records what the subclass finds worth knowing (where it landed, how long it took)
and asks for its deletion. Resources whose deletion failed (the fault may be what stops it)
are retried at teardown, for up to ``cleanup_timeout`` seconds; the ones still left are named
in a warning.
"""

from __future__ import annotations

import abc
import itertools
import logging
import time
from typing import Any, ClassVar

from ha_tests.monitors.api import describe_error, open_connection, secrets_of
from ha_tests.monitors.base import Monitor, ProbeResult

LOG = logging.getLogger(__name__)
#: deletes of earlier leftovers tried at the start of each probe (bounded: no storm on a
#: struggling API)
RETRIES_PER_PROBE = 3
POLL = 0.25


class ResourceCycleMonitor(Monitor):
    #: what a resource is called in messages ("volume", "server")
    kind: ClassVar[str]
    #: statuses that end the wait: success, failure
    ready: ClassVar[str]
    failed: ClassVar[str]

    def setup(self) -> None:
        self.conn = open_connection(self.ctx, self.timeout)
        self.secrets = secrets_of(self.conn)
        self.counter = itertools.count(1)
        self.leftovers: dict[str, str] = {}  # id -> name
        self.refused: set[str] = set()  # ids whose own probe could not delete them
        self.prepare()

    # -- what a subclass provides ---------------------------------------------------------
    @abc.abstractmethod
    def prepare(self) -> None:
        """Preflight: find what creating needs (PreflightError if it is not there)."""

    @abc.abstractmethod
    def create(self, name: str) -> Any:
        """Ask for one resource; return it (with ``id`` and ``status``)."""

    @abc.abstractmethod
    def fetch(self, resource_id: str) -> Any:
        """The resource as the cloud sees it now."""

    @abc.abstractmethod
    def delete(self, resource_id: str) -> None:
        """Ask for its deletion (ignoring one already gone)."""

    @abc.abstractmethod
    def facts(self, resource: Any, took: float, ready: bool) -> dict[str, Any]:
        """What the record keeps of a finished wait (where it landed, how long it took)."""

    def busy(self, resource_id: str) -> bool:
        """True while the cloud cannot delete it yet (teardown waits)."""
        return False

    # -- the cycle --------------------------------------------------------------------------
    def probe(self) -> ProbeResult:
        started = time.monotonic()
        deadline = started + self.timeout * 0.85
        name = f"ha-tests-{self.name}-{next(self.counter)}"
        detail: dict[str, Any] = {self.kind: name}
        self._retry_leftovers()
        try:
            resource = self.create(name)
        except Exception as exc:
            detail.update(describe_error(exc, self.secrets), stage="create")
            return ProbeResult(False, time.monotonic() - started, detail)
        self.leftovers[resource.id] = name
        status = resource.status
        try:
            while status not in (self.ready, self.failed) and time.monotonic() < deadline:
                time.sleep(POLL)
                resource = self.fetch(resource.id)
                status = resource.status
        except Exception as exc:
            detail.update(describe_error(exc, self.secrets), stage="wait")
            return ProbeResult(False, time.monotonic() - started, detail)
        took = time.monotonic() - started
        detail["status"] = status
        detail.update(self.facts(resource, took, status == self.ready))
        if status == self.failed:
            detail.setdefault("error", f"{self.kind} {status} after {took:.1f} s")
            detail["reason"] = f"{self.kind} went {status}"
        elif status != self.ready:
            # accepted, then nothing: a request lost on the way (a killed scheduler or
            # conductor had taken it), or one too slow for the probe's timeout
            detail.setdefault("error", f"still {status} after {took:.1f} s")
            detail["reason"] = f"{self.kind} still {status} at the deadline (lost or slow)"
        if not self._delete(resource.id, detail):
            self.refused.add(resource.id)
        return ProbeResult(status == self.ready, took, detail)

    def _retry_leftovers(self) -> None:
        """Delete again what a fault left (a volume stuck 'creating' cannot be deleted until
        its service is back): left waiting for teardown, they would fill the tenant's quota
        and keep the cycle failing long after the cloud recovered. Only those whose own
        probe is over: another probe may still be waiting on its resource (max_in_flight)."""
        for resource_id in list(self.refused)[:RETRIES_PER_PROBE]:
            if self._delete(resource_id):
                self.refused.discard(resource_id)

    def _delete(self, resource_id: str, detail: dict[str, Any] | None = None) -> bool:
        try:
            self.delete(resource_id)
        except Exception as exc:  # kept in leftovers: teardown tries again
            if detail is not None:
                detail["delete_error"] = describe_error(exc, self.secrets)["error"]
            return False
        self.leftovers.pop(resource_id, None)
        return True

    def teardown(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is None:
            return
        deadline = time.monotonic() + self.params.cleanup_timeout
        while self.leftovers and time.monotonic() < deadline:
            for resource_id in list(self.leftovers):
                try:
                    if self.busy(resource_id):
                        continue
                except Exception:  # gone already, or the API is down: try the delete
                    pass
                self._delete(resource_id)
            if self.leftovers:
                time.sleep(1)
        if self.leftovers:
            LOG.warning("%s: could not delete %ss %s", self.name, self.kind,
                        ", ".join(sorted(self.leftovers.values())))
        try:
            conn.close()
        except Exception:  # best effort
            pass
