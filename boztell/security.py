"""Login throttling glue for django-axes: the client's address and the lockout page."""

import ipaddress
from datetime import timedelta

from axes.helpers import get_cool_off
from django.conf import settings
from django.shortcuts import render


def client_ip(request) -> str | None:
    """The address a login attempt is counted against.

    The socket's address, unless TRUSTED_PROXY_COUNT proxies stand in front of Django: each
    appends the address it saw to X-Forwarded-For, so the client is the entry that many
    places from the right. Entries further left were written by the client and are ignored.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-count]))
    except ValueError:
        return remote


def lockout_response(request, original_response=None, credentials=None):
    """429 with the sign-in page's look, for /login/ and /admin/login/ alike.

    django-axes calls this with (request, original_response, credentials) from its sync
    middleware and with (request, credentials) from its async one: neither is used."""
    cool_off = get_cool_off(request) or timedelta(0)
    minutes = max(1, int(cool_off.total_seconds() // 60))
    response = render(
        request,
        "registration/locked_out.html",
        {"cooloff_minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
