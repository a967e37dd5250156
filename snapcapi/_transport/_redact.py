r"""Keep the access token out of text: log records, exception chains, reasons.

The token travels in the query string (``auth="query"``) or an ``Authorization`` header
(``auth="bearer"``). Libraries below us quote request URLs in log lines (urllib3 at DEBUG) and in
exception messages (requests), and a server or proxy may quote the request line in its answer, so
every piece of text that crosses this boundary is scrubbed here: the ``access_token`` parameter
and any ``Bearer`` value by pattern, and every token value the client ever held in each form it
can take in text: as is, percent-encoded (``quote``, ``quote_plus``, either case of hex digits,
encoded again), form-encoded (a space as ``+``) and JSON-escaped (``\u002b``, ``\/``).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["install_log_filter", "redact", "redact_json", "scrub"]

#: ``access_token=...`` as a query or form parameter (``=`` percent-encoded too) or a JSON or
#: Python mapping entry (``"access_token": "..."``).
_TOKEN_IN_TEXT = re.compile(
    r"(access_token(?:[\"']?\s*[:=]\s*[\"']?|%(?:25)*3d))[^&\s\"'#,;}<>]+", re.IGNORECASE
)
_BEARER_IN_TEXT = re.compile(r"(Bearer(?:\s|%(?:25)*20|\+)+)[^\s\"',;&]+", re.IGNORECASE)
#: Loggers that print request URLs.
URL_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "requests")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove access tokens from text: as a parameter, a Bearer value, and every known one.

    Each of ``secrets`` is removed in every form it takes in text (as is, URL-encoded,
    form-encoded, JSON-escaped), each replaced by ``***``.
    """
    known = tuple(secret for secret in secrets if secret)
    if known:  # first: a pattern could cut a token short and leave its tail in the text
        text = _secrets_pattern(known).sub("***", text)
    text = _TOKEN_IN_TEXT.sub(r"\1***", text)
    return _BEARER_IN_TEXT.sub(r"\1***", text)


@functools.lru_cache(maxsize=16)
def _secrets_pattern(secrets: tuple[str, ...]) -> re.Pattern[str]:
    """Compile one pattern matching every secret in each of its spellings (longest first)."""
    spelled = sorted(set(secrets), key=len, reverse=True)
    return re.compile("|".join("".join(map(_spellings, secret)) for secret in spelled))


def _spellings(char: str) -> str:
    r"""Return a pattern for one character as text may spell it.

    As is; percent-encoded (UTF-8, hex digits in either case, ``%25`` for each further
    encoding); a space as ``+`` (form encoding); JSON-escaped (``\uXXXX``, ``\/``, ``\\``,
    ``\"``).
    """
    forms = [re.escape(char)]
    encoded = "".join(f"%(?:25)*{_hex(byte)}" for byte in char.encode("utf-8", "surrogatepass"))
    forms.append(encoded)
    if ord(char) <= 0xFFFF:
        forms.append(r"\\u" + "".join(_either_case(digit) for digit in f"{ord(char):04x}"))
    if char == " ":
        forms.append(r"\+")
    if char in '/"\\':  # JSON's two-character escapes of printable characters
        forms.append(re.escape("\\" + char))
    return f"(?:{'|'.join(forms)})"


def _hex(byte: int) -> str:
    return "".join(_either_case(digit) for digit in f"{byte:02x}")


def _either_case(digit: str) -> str:
    return f"[{digit}{digit.upper()}]" if digit.isalpha() else digit


def redact_json(value: Any, secrets: Iterable[str]) -> Any:
    """Return parsed JSON with tokens removed from every string (an error may echo the token)."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [redact_json(item, secrets) for item in value]
    if isinstance(value, dict):
        return {redact(str(k), secrets): redact_json(v, secrets) for k, v in value.items()}
    return value


class RedactTokens(logging.Filter):
    """Scrub ``access_token=...`` from records of loggers that print request URLs (urllib3)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without tokens; never drop a record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to logging to report
            return True
        record.msg = redact(message)
        record.args = ()
        return True


_FILTER = RedactTokens()
_INSTALLED = threading.Event()
_INSTALLING = threading.Lock()


def install_log_filter() -> None:
    """Attach the redacting filter to the URL-logging loggers, once per process.

    Called by the first :class:`snapcapi.Client`, not at import: importing snapcapi leaves
    logging as it found it. Safe from several threads at once and cheap to call again.
    """
    if _INSTALLED.is_set():
        return
    with _INSTALLING:
        for name in URL_LOGGERS:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
        _INSTALLED.set()


def scrub(exc: BaseException, secrets: Iterable[str], seen: set[int] | None = None) -> None:
    """Remove tokens from an exception chain in place: its messages, requests, frames.

    Messages quote the URL; a request or response object holds it and the headers; and the
    frames of a traceback hold the token in their locals (the query parameters, the headers,
    the URL), where a traceback printed with its locals (``capture_locals``, error trackers)
    would show it. So each exception of the chain loses its traceback: its type and (redacted)
    message stay.
    """
    secrets = tuple(secrets)
    seen = seen if seen is not None else set()
    if id(exc) in seen:
        return
    seen.add(id(exc))
    exc.__traceback__ = None
    exc.args = tuple(_scrubbed(arg, secrets, seen) for arg in exc.args)
    for attribute in ("url", "reason"):
        value = getattr(exc, attribute, None)
        if isinstance(value, str):
            setattr(exc, attribute, redact(value, secrets))
        elif isinstance(value, BaseException):
            scrub(value, secrets, seen)
    for attribute in ("request", "response"):
        # A request's URL and headers carry the token, as do a response's and its history.
        if getattr(exc, attribute, None) is not None:
            setattr(exc, attribute, None)
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            scrub(linked, secrets, seen)


def _scrubbed(arg: Any, secrets: tuple[str, ...], seen: set[int]) -> Any:
    if isinstance(arg, BaseException):
        scrub(arg, secrets, seen)
        return arg
    if isinstance(arg, str):
        return redact(arg, secrets)
    return arg
