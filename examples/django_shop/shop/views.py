"""The checkout view: pay, then tell Snap in the background."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

import snapcapi

from . import snap

log = logging.getLogger(__name__)


@require_POST
def checkout(request: HttpRequest) -> JsonResponse:
    """Complete an order and enqueue its PURCHASE event; never wait on Snap."""
    order = json.loads(request.body)
    # ... charge the card, store the order ...
    try:
        context = snapcapi.web.from_wsgi(
            request.META,
            trusted_proxies=settings.SNAP_TRUSTED_PROXIES,
            page_url=order.get("page_url"),  # the page the buyer was on (its location.href)
        )
        snap.sender().enqueue(
            snapcapi.Event(
                event_name="PURCHASE",
                event_time=datetime.now(timezone.utc),
                action_source="WEB",
                event_source_url=context.event_source_url,
                event_id=f"order-{order['id']}",  # the Pixel sends the same id: deduplicated
                user_data=context.user_data(
                    email=order.get("email"), phone=order.get("phone"), region="US"
                ),
                custom_data=snapcapi.CustomData(
                    value=order["total"], currency=order["currency"], order_id=order["id"]
                ),
            )
        )
    except snapcapi.ValidationError as exc:  # never let tracking break a checkout
        log.warning("order %s not sent to Snap: %s", order.get("id"), exc)
    return JsonResponse({"status": "paid", "order": order["id"]})
