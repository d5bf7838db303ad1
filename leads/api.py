"""The leads API: agents keep a lead's statuses current from the inbox."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.realtime import to_wire
from leads.models import Lead
from leads.serializers import LeadSerializer
from leads.services import lead_update_status
from rooms.selectors import rooms_visible_to


class LeadStatusSerializer(serializers.Serializer):
    leads_status = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_status = serializers.CharField(max_length=50, required=False, allow_blank=True)


class LeadApi(APIView):
    @extend_schema(
        request=LeadStatusSerializer,
        responses={200: LeadSerializer},
        summary="Update a lead's leads_status / contact_status",
    )
    def patch(self, request, lead_id):
        visible = rooms_visible_to(user=request.user).filter(lead_id=lead_id)
        lead = get_object_or_404(Lead.objects.filter(pk=lead_id, rooms__in=visible).distinct())
        form = LeadStatusSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = lead_update_status(lead=lead, by=request.user, **form.validated_data)
        return Response(to_wire(LeadSerializer.render(lead)))
