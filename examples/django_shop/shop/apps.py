"""The shop's Django app: at startup it has SIGTERM deliver what the sender holds."""

from __future__ import annotations

from django.apps import AppConfig

import snapcapi


class ShopConfig(AppConfig):
    """The example shop (found by Django in ``INSTALLED_APPS = ["shop"]``)."""

    name = "shop"

    def ready(self) -> None:
        """Install snapcapi's SIGTERM handler, here in the main thread, before any request."""
        # The sender is made on first use, in a request thread (shop/snap.py), and Python
        # installs signal handlers only from the main thread: without this, SIGTERM would end
        # runserver, waitress or uWSGI with the queued events lost. A server with a SIGTERM
        # handler of its own (gunicorn) keeps it, and this does nothing.
        snapcapi.BackgroundSender.install_sigterm_handler()
