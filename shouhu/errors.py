"""The three ways a request fails, each mapped to one CLI exit code and one API status."""

from __future__ import annotations


class ShouhuError(Exception):
    exit_code = 1

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def as_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class InvalidInput(ShouhuError):
    """The request is wrong (field, value, or who asks): exit 2, nothing changed."""

    exit_code = 2


class NotFound(InvalidInput):
    """An unknown case, task, user or unit is invalid input too: exit 2."""


class Forbidden(InvalidInput):
    """A named user may not see or do this: exit 2, HTTP 403; the message names nothing protected."""


class Conflict(ShouhuError):
    """The request was right once but the case moved on (stale version, task done): exit 3."""

    exit_code = 3


class PolicyError(Exception):
    """A policy pack is broken; names the file, the key and the problem."""

    def __init__(self, file: str, key: str, problem: str):
        super().__init__(f"{file}: {key}: {problem}")
        self.file, self.key, self.problem = file, key, problem
