"""WebSocket routing: one endpoint, /ws/, for agents and API clients."""

from channels.routing import URLRouter
from django.urls import path

from boztell.ws_auth import websocket_auth
from rooms.consumers import InboxConsumer

websocket_urlpatterns = [path("ws/", InboxConsumer.as_asgi())]

websocket_application = websocket_auth(URLRouter(websocket_urlpatterns))
