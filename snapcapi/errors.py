"""The exceptions snapcapi raises.

Every exception derives from :class:`SnapCapiError`, so one ``except`` clause catches them all::

    SnapCapiError
    ├── ValidationError          (also a ValueError) bad input, caught before anything is sent
    ├── ClientClosedError        (also a RuntimeError) the client was closed
    ├── TransportError           Snap could not be reached: connection, TLS, timeout
    └── APIError                 Snap answered with an error status
        ├── AuthenticationError  401/403: the access token is wrong or lacks access
        ├── UnknownAssetError    404: Snap does not know the Pixel ID or Snap App ID
        └── RateLimitError       429: too many requests, even after retrying

Messages name the field and say what to do. They never contain an access token or a raw
identifier (email, phone, name, ...): identifiers appear masked, as in ``p*****@e******.com``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    from snapcapi.results import SendResult

__all__ = [
    "APIError",
    "AuthenticationError",
    "ClientClosedError",
    "RateLimitError",
    "Remedy",
    "SnapCapiError",
    "TransportError",
    "UnknownAssetError",
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


@attrs.frozen
class Remedy:
    """The setting that fixes a problem, named for each interface that can set it.

    Modules pass this small value instead of advice in prose, so that the library can say
    ``give timezone='Europe/Paris'`` and the command line ``pass --timezone Europe/Paris``.

    Attributes:
        argument: The library's keyword argument (``"timezone"``, ``"region"``, ``"aliases"``).
        flag: The command line's flag (``"--timezone"``), or None when it has none.
        example: An example value, as the user would write it (``"Europe/Paris"``).
        what: What the setting is, in a few words (``"the time zone of times without one"``).
        python_example: The value as Python would write it, when ``repr(example)`` is not it
            (``{"event_time": "COLUMN"}`` for a mapping).
    """

    argument: str
    flag: str | None
    example: str
    what: str
    python_example: str | None = None

    def advice(self, interface: Interface = "python") -> str:
        """Say what to do in the words of ``interface`` (``"python"`` or ``"cli"``)."""
        if interface == "cli" and self.flag is not None:
            return f"pass {' '.join(filter(None, (self.flag, self.example)))} ({self.what})"
        example = self.python_example or repr(self.example)
        return f"give {self.argument}={example} ({self.what})"


Interface = Literal["python", "cli"]


class ValidationError(SnapCapiError, ValueError):
    """A value cannot be used: wrong type, out of range, or not normalizable.

    Attributes:
        field: The field at fault, as the user named it (``"email"``, ``"custom_data.currency"``).
        reason: What is wrong and what to do, without the field name (the advice in Python's
            words; see :meth:`explain` for the command line's).
        problem: What is wrong, without the advice.
        remedy: The setting that fixes it, when one does (a :class:`Remedy`).
        code: What is wrong as a stable code (see :mod:`snapcapi.problems`):
            ``"invalid_value"`` unless the error knows more (``"phone_no_country_code"``).

    """

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        remedy: Remedy | None = None,
        code: str = "invalid_value",
    ) -> None:
        self.field = field
        self.problem = reason
        self.remedy = remedy
        self.code = code
        self.reason = reason if remedy is None else f"{reason}; {remedy.advice()}"
        super().__init__(f"{field}: {self.reason}")

    def explain(self, interface: Interface = "python") -> str:
        """Return the reason with its advice in the words of ``interface``."""
        if self.remedy is None:
            return self.problem
        return f"{self.problem}; {self.remedy.advice(interface)}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.field, self.problem, self.remedy, self.code))


def _rebuild(
    cls: type[ValidationError],
    field: str,
    problem: str,
    remedy: Remedy | None,
    code: str = "invalid_value",
) -> ValidationError:
    return cls(field, problem, remedy=remedy, code=code)


class ClientClosedError(SnapCapiError, RuntimeError):
    """The client was closed (:meth:`snapcapi.Client.close`); make a new one to send."""

    def __init__(self, message: str = "the client is closed; make a new Client to send") -> None:
        super().__init__(message)


class TransportError(SnapCapiError):
    """Snap could not be reached (connection refused or reset, DNS, TLS, timeout)."""


class APIError(SnapCapiError):
    """Snap answered a request with an error.

    Attributes:
        status_code: The HTTP status of the response.
        codes: Snap's error codes, when the response carried them.
        messages: Snap's error messages, when the response carried them.
        request_id: The id Snap gave the request (from its body or headers), when it gave
            one; the message quotes it too, for Snap's support.

    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        codes: tuple[str, ...] = (),
        messages: tuple[str, ...] = (),
        request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.codes = codes
        self.messages = messages
        self.request_id = request_id
        self._message = message
        shown = message if request_id is None else f"{message} (Snap request id {request_id})"
        super().__init__(shown)

    def __reduce__(self) -> tuple[Any, ...]:
        options = {
            "status_code": self.status_code,
            "codes": self.codes,
            "messages": self.messages,
            "request_id": self.request_id,
        }
        return (_rebuild_api_error, (type(self), self._message, options))


def _rebuild_api_error(cls: type[APIError], message: str, options: dict[str, Any]) -> APIError:
    return cls(message, **options)


class AuthenticationError(APIError):
    """Snap refused the access token (HTTP 401 or 403)."""


class RateLimitError(APIError):
    """Snap kept answering 429 Too Many Requests after every retry."""


#: The settings that give an asset id, by the library's name for them.
_ASSET_REMEDIES = {
    "pixel_id": Remedy(
        "pixel_id",
        "--pixel-id",
        "ID",
        "the Pixel ID, where WEB and OFFLINE events go; or set SNAP_PIXEL_ID",
        python_example="'<Pixel ID>'",
    ),
    "snap_app_id": Remedy(
        "snap_app_id",
        "--snap-app-id",
        "ID",
        "the Snap App ID, where MOBILE_APP events go; or set SNAP_APP_ID",
        python_example="'<Snap App ID>'",
    ),
}
_BASE_URL_REMEDY = Remedy(
    "base_url",
    "--base-url",
    "https://tr.snapchat.com",
    "Snap's host, without a path; or set SNAP_CAPI_BASE_URL",
)


class UnknownAssetError(APIError):
    """Snap does not know the asset id the events went to (HTTP 404).

    The Pixel ID or Snap App ID is wrong: no event of the send can succeed, so the send stops
    as for a refused token, and ``.result`` says what became of every event read (those not
    accepted are ``FAILED``: safe to resend once the asset id is fixed).

    Attributes:
        asset_id: The asset id Snap does not know.
        setting: The setting that gave it (``"pixel_id"`` or ``"snap_app_id"``), or None when
            unknown (the advice then names both).
        reason: What Snap said, as in ``"Unknown asset id"``.
        from_snap: Whether the 404 carried an answer of Snap's shape. Without one (an HTML or
            empty "Not Found"), the URL may be what is wrong, and the advice names
            ``base_url`` first.
    """

    def __init__(
        self,
        asset_id: str,
        *,
        setting: str | None = None,
        reason: str | None = None,
        status_code: int = 404,
        codes: tuple[str, ...] = (),
        messages: tuple[str, ...] = (),
        request_id: str | None = None,
        from_snap: bool = True,
    ) -> None:
        self.asset_id = asset_id
        self.setting = setting
        self.reason = reason
        self.from_snap = from_snap
        self.status_code = status_code
        super().__init__(
            self._text("python"),
            status_code=status_code,
            codes=codes,
            messages=messages,
            request_id=request_id,
        )

    @property
    def remedies(self) -> tuple[Remedy, ...]:
        """The settings that may fix it: the one that gave the asset id, else both."""
        url = () if self.from_snap else (_BASE_URL_REMEDY,)
        if self.setting in _ASSET_REMEDIES:
            return (*url, _ASSET_REMEDIES[self.setting])
        return (*url, *_ASSET_REMEDIES.values())

    def explain(self, interface: Interface = "python") -> str:
        """Return the message with its advice in the words of ``interface``."""
        text = self._text(interface)
        return text if self.request_id is None else f"{text} (Snap request id {self.request_id})"

    def _text(self, interface: Interface) -> str:
        said = f": {self.reason}" if self.reason else ""
        advice = ", or ".join(remedy.advice(interface) for remedy in self.remedies)
        if self.from_snap:
            what = f"Snap does not know asset id {self.asset_id!r} (HTTP {self.status_code}{said})"
        else:
            what = (
                f"the events URL of asset id {self.asset_id!r} was not found (HTTP "
                f"{self.status_code}, not an answer of Snap's): the base URL may be wrong"
            )
        return (
            f"{what}; check it: {advice}. The events not accepted are FAILED, safe to resend "
            "once it is fixed"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        options = {
            "setting": self.setting,
            "reason": self.reason,
            "status_code": self.status_code,
            "codes": self.codes,
            "messages": self.messages,
            "request_id": self.request_id,
            "from_snap": self.from_snap,
        }
        return (_rebuild_unknown_asset, (type(self), self.asset_id, options))


def _rebuild_unknown_asset(
    cls: type[UnknownAssetError], asset_id: str, options: dict[str, Any]
) -> UnknownAssetError:
    return cls(asset_id, **options)
