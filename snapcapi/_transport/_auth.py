"""The access token and how it travels: a fixed string or a callable, in the query or a header.

A callable (an OAuth token that expires) is asked lazily, on the first request, and its answer
is cached; after a 401 it is asked once more (:meth:`TokenSource.refresh`). Every value it ever
returned is remembered, only so that redaction can remove each of them from any text; and so is
each token Snap refused, so that the requests of one call refused together ask the callable once
between them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Literal

from snapcapi._transport._fork import renew_in_child
from snapcapi._transport._redact import register
from snapcapi.errors import ValidationError

__all__ = ["AUTH_MODES", "AuthMode", "TokenSource", "apply_auth"]

AuthMode = Literal["query", "bearer"]
AUTH_MODES: tuple[AuthMode, ...] = ("query", "bearer")
#: A character no access token holds: Snap's are printable ASCII. Anything else would break
#: the header or the URL it travels in (with an error quoting where it broke).
_NOT_IN_TOKEN = re.compile(r"[^!-~]")


class TokenSource:
    """The current access token, from a fixed string or a callable.

    Args:
        token: The token, or a callable returning the current one.

    The token never appears in this object's ``repr``.
    """

    def __init__(self, token: str | Callable[[], str]) -> None:
        self._lock = threading.Lock()
        renew_in_child(self)
        register(self, TokenSource._secrets_of)
        self._provider: Callable[[], str] | None = None
        self._current: str | None = None
        self._seen: list[str] = []
        # For each token Snap refused: the call in which the callable was asked after it.
        self._asked_after: dict[str, int] = {}
        self._call = 0
        if callable(token):
            self._provider = token
        else:
            self._remember(token)

    def after_fork(self) -> None:
        """In a forked child: take a new lock (another thread may have held it at the fork).

        That thread, say inside the token callable, does not exist in the child: the lock it
        held would never be released, and the child's first request would wait forever.
        """
        self._lock = threading.Lock()

    def _secrets_of(self) -> tuple[str, ...]:
        return tuple(self._seen)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every token value held so far, for redaction."""
        return tuple(self._seen)

    def current(self) -> str:
        """Return the token, asking the callable the first time.

        Raises:
            ValidationError: The callable raised, or returned no usable token.
        """
        token = self._current
        if token is not None:
            return token
        with self._lock:
            if self._current is None:
                self._ask()
            assert self._current is not None
            return self._current

    def start_call(self) -> None:
        """Begin a call of the client (a send, a GET): refusals of earlier calls are forgotten.

        Within one call, the callable is asked once per refused token, however many requests
        Snap refused with it; the next call asks again after a refusal (the token may have
        been renewed meanwhile).
        """
        with self._lock:
            self._call += 1

    def refresh(self, stale: str) -> str | None:
        """Ask the callable again after Snap refused ``stale``; return the token to retry with.

        Threads refused with the same stale token ask once between them: the second finds
        the token already replaced and gets the new one, or finds that the callable was
        already asked after this token was refused in this call (and gave it back), and gets
        None without asking again.

        Returns:
            The token to retry with, or None when there is no callable to ask or it gave back
            the very token that was refused.

        Raises:
            ValidationError: The callable raised, or returned no usable token.
        """
        if self._provider is None:
            return None
        with self._lock:
            current = self._current
            if current is not None and current != stale:
                return current  # another thread refreshed it already
            if self._asked_after.get(stale) == self._call:
                return None  # asked already after this refusal, and given it back
            self._ask()  # should it raise, nothing is remembered: the next refusal asks again
            self._asked_after[stale] = self._call
            fresh = self._current
            return None if fresh == stale else fresh

    def _ask(self) -> None:
        assert self._provider is not None
        try:
            value = self._provider()
        except Exception as exc:
            # Only the type is quoted: the provider's own message may hold its secrets.
            raise ValidationError(
                "access_token",
                f"the token callable raised {type(exc).__name__} (see the chained exception); "
                "it must return the current access token",
            ) from exc
        if not isinstance(value, str):
            raise ValidationError(
                "access_token",
                f"the token callable returned {type(value).__name__}, not a string; it must "
                "return the current access token",
            )
        self._remember(value)

    def _remember(self, value: str) -> None:
        token = value.strip()
        if not token:
            kind = "an empty" if not value else "a blank"
            raise ValidationError(
                "access_token",
                "is empty"
                if self._provider is None
                else f"the token callable returned {kind} string; it must return the current "
                "access token",
            )
        self._seen.extend(t for t in {value, token} if t not in self._seen)
        if _NOT_IN_TOKEN.search(token):
            # Remembered first, so that redaction still knows it; never quoted.
            raise ValidationError(
                "access_token",
                (
                    "holds"
                    if self._provider is None
                    else "the token callable returned a token holding"
                )
                + " a space, a control or a non-ASCII character; give the token exactly as Snap "
                "shows it",
            )
        self._current = token

    def __repr__(self) -> str:
        kind = "callable" if self._provider is not None else "fixed"
        return f"TokenSource({kind}, token hidden)"


def apply_auth(mode: AuthMode, token: str, params: dict[str, str], headers: dict[str, str]) -> None:
    """Put the token where ``mode`` says: the ``access_token`` parameter or a Bearer header."""
    if mode == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    else:
        params["access_token"] = token
