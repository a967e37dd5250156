"""Renew what a forked child must not share with its parent: one hook, installed lazily.

Whatever holds process-bound state (a pooled session's sockets, a lock another thread may
have held at the fork) joins with :func:`renew_in_child` and gets its ``after_fork()`` called
in the child, before any other thread exists there. The hook is installed by the first object
that joins, never by importing snapcapi.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Protocol

__all__ = ["renew_in_child"]


class _Renewable(Protocol):
    def after_fork(self) -> None:
        """Renew what the child must not share with the parent."""


_RENEW: weakref.WeakSet[_Renewable] = weakref.WeakSet()
_installed = False
_install_lock = threading.Lock()


def renew_in_child(holder: _Renewable) -> None:
    """Call ``holder.after_fork()`` in every process forked from this one while it lives."""
    global _installed
    _RENEW.add(holder)
    if _installed or not hasattr(os, "register_at_fork"):  # Windows does not fork
        return
    with _install_lock:
        if not _installed:
            os.register_at_fork(after_in_child=_renew_all)
            _installed = True


def _renew_all() -> None:
    # In the child only the forking thread exists: nothing here races.
    for holder in list(_RENEW):
        holder.after_fork()
