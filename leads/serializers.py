"""Output shape of a lead: the seed's `leads_info`."""

from rest_framework import serializers

from boztell.output import OutputSerializer


class LeadSerializer(OutputSerializer):
    """The seed's `leads_info`: in room rows, `new_room_complete`, `lead_updated`, and the
    answer of PATCH /api/leads/{id}."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    phone = serializers.CharField()
    outstanding = serializers.FloatField(help_text="Money owed, in IDR.")
    loan_type = serializers.CharField()
    leads_status = serializers.CharField()
    contact_status = serializers.CharField()
    do_not_contact = serializers.BooleanField(help_text="No marketing to this customer.")
    attributes = serializers.SerializerMethodField(
        help_text="Typed values by attribute key (GET /leads/attributes gives labels and types)."
    )

    def get_attributes(self, lead) -> dict:
        return lead.attributes or {}


class LeadRowSerializer(LeadSerializer):
    """A lead in GET /leads/: its leads_info and when it was made and last changed."""

    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
