"""The Legs API's error, apart from the client: code that only catches it (the API's error mapping) does not
import the HTTP stack (urllib3) at cold start."""

from __future__ import annotations

from legs.models import ErrorData


class LegsApiError(Exception):
    """A failed Legs API call, carrying Exotel's ``error_data`` (``http_code`` 0: no HTTP reply)."""

    def __init__(
        self,
        *,
        http_code: int,
        method: str,
        path: str,
        error_data: ErrorData | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        detail: str | None = None,
    ) -> None:
        self.http_code = http_code
        self.error_data = error_data
        self.request_id = request_id
        self.retry_after = retry_after
        self.method = method
        self.path = path
        self.detail = detail
        super().__init__(str(self))

    def __str__(self) -> str:
        what = "connection failed" if self.http_code == 0 else f"HTTP {self.http_code}"
        parts = [f"{self.method} {self.path}: {what}"]
        if self.error_data is not None:
            code = f"[{self.error_data.code}] " if self.error_data.code is not None else ""
            text = self.error_data.message or ""
            if self.error_data.description and self.error_data.description != text:
                text = f"{text} ({self.error_data.description})" if text else self.error_data.description
            parts.append(f"{code}{text}".strip())
        elif self.detail:
            parts.append(self.detail)
        if self.retry_after is not None:
            parts.append(f"retry after {self.retry_after:g}s")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " - ".join(parts)

    @property
    def retryable(self) -> bool:
        """Whether trying again later can help (throttling, server or network trouble)."""
        return self.http_code in (0, 429) or self.http_code >= 500
