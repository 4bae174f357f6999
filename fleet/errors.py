"""Problems found in the user's input, reported one line each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake in the input: where it is, what is wrong, how to fix it."""

    file: str
    service: str | None
    field: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: "
        if self.service:
            where += f"service {self.service}: "
        line = f"{where}{self.field}: {self.message}"
        if self.fix:
            line += f"; {self.fix}"
        return line


class FleetError(Exception):
    """Raised when the input has problems; carries every one found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise FleetError(problems)
