"""Output serializers: one declaration per payload that both renders it and documents it.

A payload is declared once, as a DRF serializer (HackSoft's `OutputSerializer`):
drf-spectacular reads its fields for the OpenAPI schema, and `render(obj)` builds the
payload from the same fields, so the schema cannot drift from what is sent.

`render` does not run DRF's per-field machinery: the webhook path renders messages in bulk,
and DRF's `.data` costs about as much per message as the rest of storing it. The declared
fields are compiled once into getters (`source`, or the `get_<name>` method of a
`SerializerMethodField`; nested output serializers render in turn) and the payload comes
back as plain Python values, which `boztell.realtime.to_wire` encodes for the REST API and
the socket alike: one wire encoding (UUIDs as strings, datetimes in ISO 8601).
"""

import operator
from collections.abc import Callable, Iterable

from rest_framework import serializers


class OutputSerializer(serializers.Serializer):
    """Subclass, declare the payload's fields, then `render(obj)` / `render_many(objs)`.
    Fields read attributes of `obj`, or its keys when `from_mapping` is set."""

    from_mapping = False

    @classmethod
    def render(cls, obj) -> dict:
        plan = cls.__dict__.get("_render_plan") or cls._compile()
        return {name: get(obj) for name, get in plan}

    @classmethod
    def render_many(cls, objs: Iterable) -> list[dict]:
        render = cls.render
        return [render(obj) for obj in objs]

    @classmethod
    def _compile(cls) -> tuple:
        instance = cls()
        plan = tuple(
            (name, _getter(instance, name, field, cls.from_mapping))
            for name, field in cls._declared_fields.items()
        )
        cls._render_plan = plan
        return plan


def _getter(instance, name: str, field, from_mapping: bool) -> Callable:
    if isinstance(field, serializers.SerializerMethodField):
        return getattr(instance, field.method_name or f"get_{name}")
    source = field.source or name
    if source == "*":
        get = _itself
    elif from_mapping:
        get = operator.itemgetter(source)
    else:
        get = operator.attrgetter(source)
    if isinstance(field, serializers.ListSerializer) and isinstance(field.child, OutputSerializer):
        render_many = type(field.child).render_many
        return lambda obj: render_many(_rows(get(obj)))
    if isinstance(field, OutputSerializer):
        render = type(field).render
        return lambda obj: None if (value := get(obj)) is None else render(value)
    if isinstance(field, serializers.FloatField):
        return lambda obj: None if (value := get(obj)) is None else float(value)
    return get


def _itself(obj):
    return obj


def _rows(value):
    """A related manager's rows (prefetched ones stay prefetched), or the iterable itself."""
    return value.all() if hasattr(value, "all") else value
