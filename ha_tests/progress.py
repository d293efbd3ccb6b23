"""What a person watching a run sees: the phase, each monitor's live state, elapsed time.

Written to stderr so stdout stays clean for tables and machine-readable output. On a terminal
the live line rewrites itself; in CI logs it is printed every few seconds instead. Every line
goes through the program's masker (ha_tests.masking) on its way out.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ha_tests.masking import mask_text
from ha_tests.summary import RunSummary

SYMBOL = {"ok": "+", "fail": "x", "timeout": "T", "error": "!", "…": "."}


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._last_live = 0.0
        self._live_shown = False

    def _write(self, text: str) -> None:
        if not self.quiet:
            self._show(text)

    def _show(self, text: str) -> None:
        if self._live_shown and self.tty:
            self.stream.write("\r\033[K")
            self._live_shown = False
        self.stream.write(mask_text(text) + "\n")
        self.stream.flush()

    def _stamp(self) -> str:
        return f"[{time.monotonic() - self.started:7.1f}s]"

    def start(self, scenario: Any) -> None:
        self.started = time.monotonic()
        self._write(f"== {scenario.name} ({scenario.gap}) — {scenario.model.description.strip()}"
                    .rstrip(" —"))

    def phase(self, name: str, detail: str = "") -> None:
        self._write(f"{self._stamp()} {name:<10} {detail}")

    def note(self, text: str) -> None:
        self._write(f"{self._stamp()} {'':<10} {text}")

    def alarm(self, text: str) -> None:
        """Something a person must act on: shown even when quiet."""
        self._show(f"{self._stamp()} !!! {text}")

    def live(self, loops: list, elapsed: float) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        period = 0.5 if self.tty else 5.0
        if now - self._last_live < period:
            return
        self._last_live = now
        states = "  ".join(f"{loop.monitor.name}:{SYMBOL.get(loop.last_state(), '?')}"
                           f"({len(loop.samples)})" for loop in loops)
        text = f"{self._stamp()} {'':<10} t={elapsed:6.1f}s  {states}"
        if self.tty:
            self.stream.write("\r\033[K" + mask_text(text))
            self._live_shown = True
            self.stream.flush()
        else:
            self._write(text)

    def finish(self, summary: RunSummary) -> None:
        self._write(f"{self._stamp()} {'result':<10} {str(summary.status).upper()}"
                    + (f" — {summary.sla_failures[0]}" if summary.sla_failures else ""))
