"""WebSocket handshake: who is connecting, and from which page.

Browsers come with the session cookie, and their `Origin` must be exactly this site's own
origin (scheme, host and port, as for Django's CSRF check) or one in CSRF_TRUSTED_ORIGINS:
a page on another port or scheme of the same host must not ride on an agent's cookie.
Other clients send `Authorization: Token <key>`; a browser page cannot set that header on
a WebSocket, so a token handshake needs no Origin check.
"""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host


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


def _allowed_hosts() -> list[str]:
    hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def handshake_origin(headers: dict, scope_scheme: str | None) -> str | None:
    """This site's origin as the client reached it: the scheme (https when the socket is
    wss, or the trusted proxy says so, as Django's request.is_secure) and the Host."""
    host = headers.get(b"host", b"").decode("latin1").strip().lower()
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    secure = scope_scheme in ("wss", "https")
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        forwarded = headers.get(name, b"").decode("latin1").split(",")[0].strip()
        secure = secure or forwarded == proxy[1]
    return f"{'https' if secure else 'http'}://{host}"


def origin_allowed(headers: dict, scope_scheme: str | None) -> bool:
    origin = headers.get(b"origin", b"").decode("latin1").strip().lower()
    if not origin:
        return False
    trusted = {o.lower().rstrip("/") for o in settings.CSRF_TRUSTED_ORIGINS}
    return origin == handshake_origin(headers, scope_scheme) or origin in trusted


class OriginCheckMiddleware:
    """Refuses (HTTP 403 at the handshake) a connection that rides on a session cookie
    when its Origin is not exactly ours. Token and anonymous handshakes go on to the
    consumer, which closes the anonymous ones with 4401."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        by_session = (
            scope.get("auth_method") != "token" and user is not None and user.is_authenticated
        )
        if by_session:
            headers = dict(scope.get("headers") or [])
            if not origin_allowed(headers, scope.get("scheme")):
                return await WebsocketDenier()(scope, receive, send)
        return await self.inner(scope, receive, send)


def websocket_auth(inner):
    return AuthMiddlewareStack(TokenAuthMiddleware(OriginCheckMiddleware(inner)))
