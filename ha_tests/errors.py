"""Errors that end a run, each with its own exit code so pipelines can tell them apart."""

from __future__ import annotations

from dataclasses import dataclass


class ExitCode:
    """Documented, distinct exit codes (README.rst, "Exit codes")."""

    PASS = 0
    SLA_FAILED = 1
    BAD_INPUT = 2
    PREFLIGHT_FAILED = 3
    ROLLBACK_FAILED = 4
    ERROR = 5
    #: the run measured less than its gate needs (by default: nothing at all)
    NOT_MEASURED = 6
    INTERRUPTED = 130


class HaTestsError(Exception):
    """Base of every error ha-tests reports to the user instead of a traceback."""

    exit_code = ExitCode.ERROR


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file, located precisely enough to fix it."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.path + ': ' if self.path else ''}{self.message}"
        if self.hint:
            text += f" — {self.hint}"
        return text


class InputError(HaTestsError):
    """A scenario, inventory or Yardstick file is wrong; nothing has been touched."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("<input>", None, None, "", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PreflightError(HaTestsError):
    """The target is unreachable or not in steady state; no fault was injected."""

    exit_code = ExitCode.PREFLIGHT_FAILED


class CloudUnreachable(PreflightError):
    """A monitor could not reach the cloud at preflight. It may still be settling from what
    came before (a VIP failing back once the previous scenario's node returned), so the
    runner asks again for a while before it gives up."""


class RollbackError(HaTestsError):
    """A fault could not be verified as rolled back: a node may be left degraded."""

    exit_code = ExitCode.ROLLBACK_FAILED


class TransportError(HaTestsError):
    """A command could not be run on a node (connection lost, timeout)."""

    exit_code = ExitCode.PREFLIGHT_FAILED


class Interrupted(HaTestsError):
    """SIGINT or SIGTERM arrived; raised in the main thread so rollback runs."""

    exit_code = ExitCode.INTERRUPTED
