"""factory-boy factories for every model."""

from decimal import Decimal

import factory
from django.utils import timezone

from boztell.models import User
from leads.models import Lead
from messaging.models import Message
from rooms.models import Room, RoomParticipant


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    display_name = factory.Faker("name")
    role = User.Role.AGENT
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SupervisorFactory(UserFactory):
    username = factory.Sequence(lambda n: f"supervisor{n}")
    role = User.Role.SUPERVISOR


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"62812{n:08d}")
    outstanding = Decimal("12500000.00")
    loan_type = "KTA"
    leads_status = "warm"
    contact_status = "contacted"


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    phone = factory.Sequence(lambda n: f"62813{n:08d}")
    title = factory.LazyAttribute(lambda o: o.lead.name if o.lead else o.phone)
    lead = None


class RoomParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoomParticipant

    room = factory.SubFactory(RoomFactory)
    user = factory.SubFactory(UserFactory)
    is_assigned = True
    assigned_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    room = factory.SubFactory(RoomFactory)
    user = None
    content_type = "text"
    content_text = factory.Faker("sentence")
    wa_message_id = factory.Sequence(lambda n: f"wamid.TEST{n:012d}")
    status = factory.LazyAttribute(
        lambda o: Message.Status.RECEIVED if o.user is None else Message.Status.SENT
    )
    metadata = factory.LazyFunction(dict)


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "messaging.MessageTemplate"

    name = "payment_reminder"
    language = "id"
    status = "APPROVED"
    category = "UTILITY"
    components = factory.LazyFunction(
        lambda: [{"type": "BODY", "text": "Halo {{1}}, tagihan {{2}} jatuh tempo besok."}]
    )
    synced_at = factory.LazyFunction(timezone.now)


class PendingStatusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "messaging.PendingStatus"

    wa_message_id = factory.Sequence(lambda n: f"wamid.PENDING{n:08d}")
    status = "delivered"
    status_timestamp = factory.LazyFunction(timezone.now)
    payload = factory.LazyFunction(dict)


class IdempotencyKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "messaging.IdempotencyKey"

    user = factory.SubFactory(UserFactory)
    key = factory.Sequence(lambda n: f"key-{n}")
    request_hash = "0" * 64


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "boztell.Event"

    event = "new_message"
    room_id = None
    user_id = None
    data = factory.LazyFunction(dict)
