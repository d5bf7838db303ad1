"""Errors as values with a stable code, mapped once to HTTP responses."""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger("boztell.errors")


class BoztellError(Exception):
    """A failure a caller can act on: `code` is stable, `message` is plain words."""

    code = "error"
    status = 400

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict | None = None,
    ):
        self.message = message or self.__class__.__doc__ or self.code
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or {}
        super().__init__(self.message)

    def as_dict(self) -> dict:
        body = {"error": {"code": self.code, "message": self.message}}
        if self.details:
            body["error"]["details"] = self.details
        return body


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return body


def error_response(code: str, message: str, http_status: int, details: dict | None = None):
    """A plain Django JSON error, for views outside DRF (webhooks, health)."""
    return JsonResponse(error_body(code, message, details), status=http_status)


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_request",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid_request",
}


def api_exception_handler(exc, context):
    """DRF exception handler: every error body is `{"error": {code, message, details?}}`."""
    if isinstance(exc, BoztellError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        message = "The request is not valid: see details."
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(code, message, details)
    else:
        response.data = error_body(code, str(getattr(exc, "detail", exc)))
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Token realm="api"'
    return response
