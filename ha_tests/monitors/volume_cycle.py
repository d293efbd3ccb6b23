"""volume-cycle: create a volume and delete it, each sample, as a tenant's workload does (gap-4).

A read (``api`` with ``service: volume``) only proves cinder-api answers; a create needs the
scheduler and a cinder-volume that owns the backend, which is what an A/A cluster member or
an A/P backend failing takes away. Each sample creates a 1 GiB volume (of ``volume_type`` if
given), waits for ``available`` (or ``error``) within the probe's timeout, then asks for its
deletion. ok when the volume became available in time; the detail has the backend host that
served it (``os-vol-host-attr:host``), the seconds to available, and the error if any.

Every volume is named ``ha-tests-<monitor>-<n>`` and is deleted, also the ones a failed
sample left behind (at teardown, waiting up to ``cleanup_timeout`` for the backend to come
back); the names of any it could not delete are in the teardown log line.

Example::

    - type: volume-cycle
      name: volume-create-delete
      volume_type: lab-aa      # the backend under attack
      interval: 2
      timeout: 20
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

from pydantic import Field

from ha_tests.errors import PreflightError
from ha_tests.monitors.api import describe_error, open_connection, secrets_of
from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.validation import StrictModel

LOG = logging.getLogger(__name__)
POLL = 0.25


class VolumeCycleParams(StrictModel):
    volume_type: str | None = Field(None, description="volume type (default: the cloud's)")
    size: int = Field(1, ge=1, le=10, description="GiB")
    cleanup_timeout: float = Field(120.0, ge=0, le=1800,
                                   description="seconds teardown waits to delete leftovers")


class VolumeCycleMonitor(Monitor):
    Params = VolumeCycleParams

    def setup(self) -> None:
        self.conn = open_connection(self.ctx, self.timeout)
        self.secrets = secrets_of(self.conn)
        self.counter = itertools.count(1)
        self.leftovers: dict[str, str] = {}  # id -> name
        try:
            if not self.conn.has_service("block-storage"):
                raise PreflightError(f"{self.name}: the cloud has no volume service (cinder)")
            if self.params.volume_type and \
                    self.conn.block_storage.find_type(self.params.volume_type) is None:
                raise PreflightError(f"{self.name}: no volume type "
                                     f"'{self.params.volume_type}' in the cloud")
        except PreflightError:
            raise
        except Exception as exc:
            raise PreflightError(f"{self.name}: cannot read the volume service: "
                                 + describe_error(exc, self.secrets)["error"]) from None

    def probe(self) -> ProbeResult:
        started = time.monotonic()
        deadline = started + self.timeout * 0.85
        name = f"ha-tests-{self.name}-{next(self.counter)}"
        detail: dict[str, Any] = {"volume": name}
        try:
            volume = self.conn.block_storage.create_volume(
                name=name, size=self.params.size, volume_type=self.params.volume_type)
        except Exception as exc:
            detail.update(describe_error(exc, self.secrets), stage="create")
            return ProbeResult(False, time.monotonic() - started, detail)
        self.leftovers[volume.id] = name
        status = volume.status
        try:
            while status not in ("available", "error") and time.monotonic() < deadline:
                time.sleep(POLL)
                volume = self.conn.block_storage.get_volume(volume.id)
                status = volume.status
        except Exception as exc:
            detail.update(describe_error(exc, self.secrets), stage="wait")
            return ProbeResult(False, time.monotonic() - started, detail)
        took = time.monotonic() - started
        detail.update(status=status, host=getattr(volume, "host", None),
                      seconds_to_available=round(took, 3) if status == "available" else None)
        if status != "available":
            detail["error"] = (f"volume {status} after {took:.1f} s" if status == "error"
                               else f"still '{status}' after {took:.1f} s")
        self._delete(volume.id, detail)
        return ProbeResult(status == "available", took, detail)

    def _delete(self, volume_id: str, detail: dict[str, Any] | None = None) -> bool:
        try:
            self.conn.block_storage.delete_volume(volume_id, ignore_missing=True)
        except Exception as exc:  # kept in leftovers: teardown tries again
            if detail is not None:
                detail["delete_error"] = describe_error(exc, self.secrets)["error"]
            return False
        self.leftovers.pop(volume_id, None)
        return True

    def teardown(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is None:
            return
        deadline = time.monotonic() + self.params.cleanup_timeout
        while self.leftovers and time.monotonic() < deadline:
            for volume_id in list(self.leftovers):
                try:
                    volume = conn.block_storage.get_volume(volume_id)
                except Exception:  # gone already, or the API is down: retried
                    volume = None
                if volume is not None and volume.status in ("creating", "deleting"):
                    continue
                self._delete(volume_id)
            if self.leftovers:
                time.sleep(1)
        if self.leftovers:
            LOG.warning("%s: could not delete volumes %s", self.name,
                        ", ".join(sorted(self.leftovers.values())))
        try:
            conn.close()
        except Exception:  # best effort
            pass

    def describe(self) -> str:
        kind = f" of type {self.params.volume_type}" if self.params.volume_type else ""
        return f"{self.name}: create and delete a volume{kind} each sample"
