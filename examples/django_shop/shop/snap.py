"""One BackgroundSender per process, made on first use from the settings.

Made lazily, on the first checkout, so that tests can point it at another server (``reset``).
That first use is in a request thread, where Python cannot install a signal handler: the
app's ``ready()`` (shop/apps.py) installs snapcapi's SIGTERM handler at startup, in the main
thread, and this sender uses it. Under gunicorn each worker gets its own queue and thread
(snapcapi is fork-safe).
"""

from __future__ import annotations

import threading

from django.conf import settings

import snapcapi

_lock = threading.Lock()
_sender: snapcapi.BackgroundSender | None = None


def sender() -> snapcapi.BackgroundSender:
    """Return the process's sender, making it on first use."""
    global _sender
    with _lock:
        if _sender is None:
            client = snapcapi.Client(settings.SNAP_PIXEL_ID, base_url=settings.SNAP_CAPI_BASE_URL)
            _sender = snapcapi.BackgroundSender(client)
        return _sender


def reset() -> None:
    """Close and forget the sender (tests point the next one at another server)."""
    global _sender
    with _lock:
        if _sender is not None:
            _sender.close()
            _sender.client.close()
        _sender = None
