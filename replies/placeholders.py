"""The one rule for quick-reply placeholders: what `{{name}}` looks like, how it is
filled, and how a send recognises one left unfilled.

A placeholder is `{{` name `}}`: a letter or `_`, then letters, digits, `_` or `-` (a lead
attribute's key), spaces inside allowed, case ignored. A send is
refused only for a placeholder whose name quick replies can fill or use (the built-in
ones, the lead's fields, and any name written in a quick reply), so a customer's or an
agent's own braces ("{{ }}", "{{ok}}", JSON, code) still go out.
"""

import re

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]{0,63})\s*\}\}")
BUILTIN = frozenset({"agent"})


def placeholder_names(text: str) -> list[str]:
    """The placeholder names in `text`, lowercased, in order of first appearance."""
    return list(dict.fromkeys(m.lower() for m in PLACEHOLDER.findall(text or "")))


def render(text: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """Fill each placeholder with its value; one without a value stays as written and
    is named in `missing`."""
    missing: list[str] = []

    def fill(match: re.Match) -> str:
        name = match.group(1).lower()
        value = values.get(name)
        if value:
            return value
        if name not in missing:
            missing.append(name)
        return match.group(0)

    return PLACEHOLDER.sub(fill, text), missing


def known_placeholder_names() -> set[str]:
    from leads.selectors import lead_placeholder_names
    from replies.models import QuickReply

    names = set(BUILTIN) | lead_placeholder_names()
    for text in QuickReply.objects.values_list("text", flat=True).iterator():
        names.update(placeholder_names(text))
    return names


def unfilled_placeholders(text: str) -> list[str]:
    """The quick-reply placeholders still in a text about to be sent ([] for none). The
    quick replies are read only when the text has something `{{name}}`-shaped at all."""
    found = placeholder_names(text)
    if not found:
        return []
    known = known_placeholder_names()
    return [name for name in found if name in known]
