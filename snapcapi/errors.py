"""The exceptions snapcapi raises.

Every exception derives from :class:`SnapCapiError`, so one ``except`` clause catches them all::

    SnapCapiError
    ├── ValidationError          (also a ValueError) bad input, caught before anything is sent
    ├── TransportError           Snap could not be reached: connection, TLS, timeout
    └── APIError                 Snap answered with an error status
        ├── AuthenticationError  401/403: the access token is wrong or lacks access
        └── RateLimitError       429: too many requests, even after retrying

Messages name the field and say what to do. They never contain an access token or a raw
identifier (email, phone, name, ...): identifiers appear masked, as in ``p*****@e******.com``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snapcapi.results import SendResult

__all__ = [
    "APIError",
    "AuthenticationError",
    "RateLimitError",
    "SnapCapiError",
    "TransportError",
    "ValidationError",
]


class SnapCapiError(Exception):
    """Base class of every error raised by snapcapi.

    Attributes:
        result: When :meth:`snapcapi.Client.send` stops early (a refused token, a missing asset
            id), the :class:`snapcapi.SendResult` of the events that reached a status so far;
            otherwise None.
    """

    result: SendResult | None = None


class ValidationError(SnapCapiError, ValueError):
    """A value cannot be used: wrong type, out of range, or not normalizable.

    Attributes:
        field: The field at fault, as the user named it (``"email"``, ``"custom_data.currency"``).
        reason: What is wrong and what to do, without the field name.

    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.reason))


class TransportError(SnapCapiError):
    """Snap could not be reached (connection refused or reset, DNS, TLS, timeout)."""


class APIError(SnapCapiError):
    """Snap answered a request with an error.

    Attributes:
        status_code: The HTTP status of the response.
        codes: Snap's error codes, when the response carried them.
        messages: Snap's error messages, when the response carried them.

    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        codes: tuple[str, ...] = (),
        messages: tuple[str, ...] = (),
    ) -> None:
        self.status_code = status_code
        self.codes = codes
        self.messages = messages
        super().__init__(message)


class AuthenticationError(APIError):
    """Snap refused the access token (HTTP 401 or 403)."""


class RateLimitError(APIError):
    """Snap kept answering 429 Too Many Requests after every retry."""
