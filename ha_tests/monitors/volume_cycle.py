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

from typing import Any

from pydantic import Field

from ha_tests.errors import PreflightError
from ha_tests.monitors.api import describe_error, in_catalog, preflight_error
from ha_tests.monitors.lifecycle import ResourceCycleMonitor
from ha_tests.validation import StrictModel


class VolumeCycleParams(StrictModel):
    volume_type: str | None = Field(None, description="volume type (default: the cloud's)")
    size: int = Field(1, ge=1, le=10, description="GiB")
    cleanup_timeout: float = Field(120.0, ge=0, le=1800,
                                   description="seconds teardown waits to delete leftovers")


class VolumeCycleMonitor(ResourceCycleMonitor):
    Params = VolumeCycleParams
    kind, ready, failed = "volume", "available", "error"

    def prepare(self) -> None:
        try:
            if not in_catalog(self.conn, "block-storage"):
                raise PreflightError(f"{self.name}: the cloud has no volume service (cinder)")
            if self.params.volume_type and \
                    self.conn.block_storage.find_type(self.params.volume_type) is None:
                raise PreflightError(f"{self.name}: no volume type "
                                     f"'{self.params.volume_type}' in the cloud")
        except PreflightError:
            raise
        except Exception as exc:
            raise preflight_error(f"{self.name}: cannot read the volume service: "
                                  + describe_error(exc, self.secrets)["error"], exc) from None

    def create(self, name: str) -> Any:
        return self.conn.block_storage.create_volume(
            name=name, size=self.params.size, volume_type=self.params.volume_type)

    def fetch(self, resource_id: str) -> Any:
        return self.conn.block_storage.get_volume(resource_id)

    def delete(self, resource_id: str) -> None:
        self.conn.block_storage.delete_volume(resource_id, ignore_missing=True)

    def busy(self, resource_id: str) -> bool:
        return self.fetch(resource_id).status in ("creating", "deleting")

    def facts(self, resource: Any, took: float, ready: bool) -> dict[str, Any]:
        return {"host": getattr(resource, "host", None),
                "seconds_to_available": round(took, 3) if ready else None}

    def describe(self) -> str:
        kind = f" of type {self.params.volume_type}" if self.params.volume_type else ""
        return f"{self.name}: create and delete a volume{kind} each sample"
