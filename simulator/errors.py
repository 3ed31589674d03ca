"""The one exception the API layer turns into Exotel's error envelope."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error with Exotel's ``error_data`` (``code``, ``message``, ``description``)."""

    def __init__(
        self,
        status: int,
        message: str,
        description: str | None = None,
        *,
        code: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.description = description or message
        self.code = code if code is not None else status
        self.extra = extra or {}
        self.headers = headers or {}

    def error_data(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "description": self.description, **self.extra}
