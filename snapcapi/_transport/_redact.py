r"""Keep the access token out of text: log records, exception chains, reasons.

The token travels in the query string (``auth="query"``) or an ``Authorization`` header
(``auth="bearer"``). Libraries below us quote request URLs in log lines (urllib3 at DEBUG) and in
exception messages (requests), and a server or proxy may quote the request line in its answer, so
every piece of text that crosses this boundary is scrubbed here: the ``access_token`` parameter
and any ``Bearer`` value by pattern, and every token value the client ever held in each form it
can take in text: as is, percent-encoded (``quote``, ``quote_plus``, either case of hex digits,
encoded again), form-encoded (a space as ``+``) and JSON-escaped (``\u002b``, ``\/``, escaped
again when JSON text is quoted in JSON: ``\\\/``). Bodies are redacted as text, before they
are parsed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
import traceback
import weakref
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["install_log_filter", "known_secrets", "redact", "register", "scrub"]

#: ``access_token=...`` as a query or form parameter (``=`` percent-encoded too) or a JSON or
#: Python mapping entry (``"access_token": "..."``).
_TOKEN_IN_TEXT = re.compile(
    r"(access_token(?:[\"']?\s*[:=]\s*[\"']?|%(?:25)*3d))[^&\s\"'#,;}<>\\]+", re.IGNORECASE
)
#: A value ends at a backslash too: in JSON text it begins an escape (``\"`` ends a string).
_BEARER_IN_TEXT = re.compile(r"(Bearer(?:\s|%(?:25)*20|\+)+)[^\s\"',;&\\]+", re.IGNORECASE)
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
    encoding); a space as ``+`` (form encoding); JSON-escaped (``\u`` and four hex digits, ``\/``,
    ``\\``, ``\"``).
    """
    forms = [re.escape(char)]
    encoded = "".join(f"%(?:25)*{_hex(byte)}" for byte in char.encode("utf-8", "surrogatepass"))
    forms.append(encoded)
    # JSON escapes, the backslash itself escaped again for each further encoding (JSON text
    # quoted within JSON text: ``\\\/``, ``\\u002b``).
    if ord(char) <= 0xFFFF:
        forms.append(r"\\+u" + "".join(_either_case(digit) for digit in f"{ord(char):04x}"))
    if char == " ":
        forms.append(r"\+")
    if char in '/"\\':  # JSON's two-character escapes of printable characters
        forms.append(r"\\+" + re.escape(char))
    return f"(?:{'|'.join(forms)})"


def _hex(byte: int) -> str:
    return "".join(_either_case(digit) for digit in f"{byte:02x}")


def _either_case(digit: str) -> str:
    return f"[{digit}{digit.upper()}]" if digit.isalpha() else digit


#: Whatever holds tokens (a :class:`~snapcapi._transport._auth.TokenSource`), with the callable
#: that lists them: the log filter removes them from records of libraries that know nothing of
#: snapcapi's secrets. Held weakly: a client that is gone leaves the registry.
_HOLDERS: weakref.WeakKeyDictionary[Any, Callable[[Any], tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)
_HOLDERS_LOCK = threading.Lock()


def register(holder: Any, secrets: Callable[[Any], tuple[str, ...]]) -> None:
    """Let the log filter know the tokens ``holder`` holds, as ``secrets(holder)`` lists them."""
    with _HOLDERS_LOCK:
        _HOLDERS[holder] = secrets


def known_secrets() -> tuple[str, ...]:
    """Return every token held by a live registered holder (see :func:`register`)."""
    with _HOLDERS_LOCK:
        holders = list(_HOLDERS.items())
    return tuple(dict.fromkeys(token for holder, read in holders for token in read(holder)))


class RedactTokens(logging.Filter):
    """Scrub tokens from records of loggers that print request URLs (urllib3, requests).

    The message, the traceback (urllib3 logs a ``HeaderParsingError`` with ``exc_info``, and
    its text quotes what the server sent, which may be the request line) and the stack are
    rewritten, without the patterns' tokens and without every token a live client holds: the
    traceback is formatted here, redacted, into ``exc_text``, and ``exc_info`` dropped, so
    that no handler formats it again from the frames.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, traceback and stack without tokens; never drop it."""
        secrets = known_secrets()
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to logging to report
            return True
        record.msg = redact(message, secrets)
        record.args = ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
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


#: Attributes of exceptions that hold text quoting the request or the answer: ``requests``'
#: ``url``, urllib3's ``reason``, ``http.client.BadStatusLine.line`` (what the server sent),
#: ``IncompleteRead.partial``, ``OSError``'s ``strerror`` and ``filename``.
_TEXT_ATTRIBUTES = ("url", "reason", "line", "partial", "strerror", "filename", "filename2")


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
    for attribute in _TEXT_ATTRIBUTES:
        value = getattr(exc, attribute, None)
        if isinstance(value, str):
            with contextlib.suppress(AttributeError, TypeError):  # a read-only attribute
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
