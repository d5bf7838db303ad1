"""Core API: who the caller is (lets a client check its token)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.models import User


class UserSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ("id", "username", "display_name", "name", "role", "is_active")
        read_only_fields = fields


class MeApi(APIView):
    @extend_schema(responses=UserSerializer, summary="The authenticated caller")
    def get(self, request):
        return Response(UserSerializer(request.user).data)
