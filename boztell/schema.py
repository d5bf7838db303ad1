"""The OpenAPI schema's house rules: every operation documents the API's one error shape
(boztell.errors) for the failures any request can meet."""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

# Bad input, no or a bad token, a caller who may not, an id that names nothing visible.
COMMON_ERROR_STATUSES = ("400", "401", "403", "404")


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable: what a client branches on.")
    message = serializers.CharField(help_text="Plain words for a person.")
    details = serializers.DictField(required=False, help_text="Per field, or what to do next.")


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers: `{"error": {code, message, details?}}`."""

    error = ErrorDetailSerializer()


class BoztellAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in COMMON_ERROR_STATUSES:
            if status not in responses:
                responses[status] = self._get_response_for_code(
                    ErrorSerializer, status, direction=direction
                )
        return responses
