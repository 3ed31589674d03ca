"""The one exception the API layer turns into Exotel's error envelope, and the codes it carries."""

from __future__ import annotations

from typing import Any

#: ``error_data.code`` by HTTP status. Exotel's codes are strings or application numbers, not the status
#: (developer.exotel.com references/error-codes). Documented: 1010 "Authentication failed" (401) and
#: ``rate_limit_exceeded`` (429, docs.exotel.com rate-limits). The rest are the simulator's guesses.
ERROR_CODES: dict[int, int | str] = {
    400: "invalid_request",
    401: 1010,
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    413: "request_too_large",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


def error_code(status: int) -> int | str:
    """The application code a reply with ``status`` carries (``error`` + status for anything unlisted)."""
    return ERROR_CODES.get(status, f"error_{status}")


class ApiError(Exception):
    """An HTTP error with Exotel's ``error_data`` (``code``, ``message``, ``description``)."""

    def __init__(
        self,
        status: int,
        message: str,
        description: str | None = None,
        *,
        code: int | str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.description = description or message
        self.code = code if code is not None else error_code(status)
        self.extra = extra or {}
        self.headers = headers or {}

    def error_data(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "description": self.description, **self.extra}

    def rate_limit_error(self) -> dict[str, Any]:
        """A 429's ``response.error`` as docs.exotel.com rate-limits shows it: ``{code, message}``."""
        return {"code": self.code, "message": self.message}
