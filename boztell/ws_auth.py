"""WebSocket handshake: who is connecting.

Browsers come with the session cookie (and always send an Origin header, checked against
ALLOWED_HOSTS); other clients send `Authorization: Token <key>` on the handshake.
"""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator as ChannelsOriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware:
    """Sets scope["user"] from `Authorization: Token <key>` when the header is present;
    a bad token makes the connection anonymous (and so refused), never a session user."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin1")
        if auth:
            scheme, _, key = auth.partition(" ")
            scope = dict(scope)
            scope["user"] = (
                await _user_for_token(key.strip())
                if scheme.lower() == "token" and key.strip()
                else AnonymousUser()
            )
            scope["auth_method"] = "token"
        return await self.inner(scope, receive, send)


class OriginValidator(ChannelsOriginValidator):
    """Checks the Origin of browser connections against ALLOWED_HOSTS. A connection with
    no Origin header is not a browser (browsers always send one), so cross-site hijacking
    does not apply; it must still authenticate with a token."""

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def websocket_auth(inner):
    """Channels' AllowedHostsOriginValidator, but letting Origin-less (non-browser) clients
    through to token authentication."""
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return OriginValidator(AuthMiddlewareStack(TokenAuthMiddleware(inner)), allowed_hosts)
