"""Webhook routes."""

urlpatterns: list = []
