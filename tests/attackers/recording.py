"""Count the commands each node's shell runs while an attacker injects, and hold each node's
first command until ``together`` nodes have one under way (a fan-out that went node by node
breaks the barrier)."""

from __future__ import annotations

import threading
import time
from collections import Counter

from ha_tests.context import RunContext


class Recorder:
    """Wraps a context's shells: counts commands per node while on, and holds each node's
    first command at a barrier of ``together`` nodes."""

    def __init__(self, ctx: RunContext, together: int = 1):
        self.counts: Counter[str] = Counter()
        self.on = False
        self.barrier = threading.Barrier(together) if together > 1 else None
        self._lock = threading.Lock()
        self._get = ctx.shells.get
        ctx.shells.get = self.get

    def get(self, node):
        shell = self._get(node)
        recorder = self

        class Recorded:
            node_name = shell.node_name

            def run(self, argv, **kwargs):
                if recorder.on:
                    with recorder._lock:
                        recorder.counts[shell.node_name] += 1
                        first = recorder.counts[shell.node_name] == 1
                    if first and recorder.barrier is not None:
                        recorder.barrier.wait(timeout=20)  # the other node's is under way
                return shell.run(argv, **kwargs)

            def close(self):
                shell.close()

        return Recorded()

    def inject(self, attacker):
        self.on = True
        before = time.time()
        try:
            return attacker.inject()
        finally:
            self.on = False
            self.window = (before, time.time())
