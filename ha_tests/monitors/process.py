"""process: are the pattern's processes running on the node? Over the persistent connection.

Each sample records the PIDs seen, so the summary can tell when the killed process came back
and whether a new PID replaced it.

Example::

    - type: process
      target: victim
      service: keystone
      interval: 0.5
      gate: false          # expected to go down; observe only
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.processes import find, service_pattern
from ha_tests.validation import StrictModel


class ProcessParams(StrictModel):
    service: str | None = None
    process: str | None = None
    min_count: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _needs_pattern(self):
        if not (self.service or self.process):
            raise ValueError("process monitor needs 'service' or 'process'")
        return self


class ProcessMonitor(Monitor):
    Params = ProcessParams
    needs_target = True

    def setup(self) -> None:
        self.pattern = service_pattern(self.ctx.inventory, self.params.service,
                                       self.params.process, self.name)

    def probe(self) -> ProbeResult:
        pids = {}
        for node in self.nodes:
            pids[node.name] = [p.pid for p in find(self.ctx.shell(node), self.pattern,
                                                   timeout=self.timeout)]
        ok = all(len(v) >= self.params.min_count for v in pids.values())
        return ProbeResult(ok, detail={"pids": pids})
