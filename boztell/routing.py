"""WebSocket routing: one endpoint, /ws/, for agents and API clients."""

from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

websocket_urlpatterns: list = []

websocket_application = AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))
