"""A template's parameters for one recipient, in Meta's send format, and the text the
customer will read (the template's body with those parameters in place).

Mapping (Campaign.parameters):
    {"body": {"1": spec, "2": spec} or {"customer_name": spec},   # by placeholder
     "header": {"1": spec}                                        # a text header
               or {"type": "image|video|document", "link": url}   # one file for all
               or {"type": ..., "media_id": id} or {"type": ..., "column": "photo_url"},
     "buttons": {"0": spec}}                                      # by button index
    spec: {"column": "amount", "format": "text|idr|date_id"} or {"value": "fixed text"}
"""

import re
from dataclasses import dataclass, field

from boztell.errors import BoztellError
from campaigns.formats import FORMATS, FormatError, format_value, is_blank

PLACEHOLDER = re.compile(r"{{\s*(\w+)\s*}}")
MEDIA_HEADERS = ("IMAGE", "VIDEO", "DOCUMENT")


class MappingError(BoztellError):
    code = "invalid_parameters"
    status = 400


def _names(text: str | None) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER.findall(text or "")))


@dataclass(frozen=True)
class Layout:
    """What a template asks for: its placeholders by part, and its media header kind."""

    body: list[str]
    body_text: str
    header: list[str]
    header_text: str
    header_media: str | None
    footer_text: str
    buttons: dict[str, str] = field(default_factory=dict)  # index -> URL | QUICK_REPLY | ...
    named: bool = False


def template_layout(template) -> Layout:
    body = template.component("BODY") or {}
    header = template.component("HEADER") or {}
    footer = template.component("FOOTER") or {}
    buttons = (template.component("BUTTONS") or {}).get("buttons", [])
    header_format = str(header.get("format") or "").upper()
    body_names = _names(body.get("text"))
    return Layout(
        body=body_names,
        body_text=body.get("text") or "",
        header=_names(header.get("text")) if header_format == "TEXT" else [],
        header_text=header.get("text") or "" if header_format == "TEXT" else "",
        header_media=header_format.lower() if header_format in MEDIA_HEADERS else None,
        footer_text=footer.get("text") or "",
        buttons={
            str(i): str(b.get("type", "")).upper()
            for i, b in enumerate(buttons)
            if (str(b.get("type", "")).upper() == "URL" and _names(b.get("url")))
            or str(b.get("type", "")).upper() in ("QUICK_REPLY", "COPY_CODE")
        },
        named=any(not name.isdigit() for name in body_names),
    )


def _check_spec(where: str, spec, columns: list[str] | None) -> None:
    if not isinstance(spec, dict) or not (("column" in spec) ^ ("value" in spec)):
        raise MappingError(f"{where}: give either 'column' or 'value'.")
    if spec.get("format", "text") not in FORMATS:
        raise MappingError(f"{where}: format is one of {', '.join(FORMATS)}.")
    if "column" in spec and columns is not None and spec["column"] not in columns:
        raise MappingError(
            f"{where}: the audience has no column '{spec['column']}'.",
            code="unknown_column",
            details={"columns": columns},
        )


def mapping_check(template, parameters: dict, columns: list[str] | None = None) -> None:
    """Every placeholder of the template is mapped, and only those; columns exist (when
    the audience's columns are known). Raises MappingError naming what is wrong."""
    if not isinstance(parameters, dict):
        raise MappingError("parameters must be an object.")
    for part in ("header", "buttons"):
        if not isinstance(parameters.get(part) or {}, dict):
            raise MappingError(f"parameters.{part} must be an object.")
    if not isinstance(parameters.get("body") or {}, dict | list):
        raise MappingError("parameters.body must be an object (or a list, for {{1}}, {{2}}...).")
    layout = template_layout(template)
    body = parameters.get("body") or {}
    if isinstance(body, list):
        body = {str(i + 1): spec for i, spec in enumerate(body)}
    missing = [n for n in layout.body if n not in body]
    extra = [n for n in body if n not in layout.body]
    if missing or extra:
        raise MappingError(
            f"The template's body takes {{{{{'}}, {{'.join(layout.body)}}}}}; "
            f"map each of them{' (missing: ' + ', '.join(missing) + ')' if missing else ''}"
            f"{' (not in the template: ' + ', '.join(extra) + ')' if extra else ''}.",
            code="parameters_mismatch",
        )
    for name, spec in body.items():
        _check_spec(f"body {{{{{name}}}}}", spec, columns)
    header = parameters.get("header") or {}
    if layout.header_media:
        if not header:
            raise MappingError(
                f"The template's header is a {layout.header_media}: give header.link, "
                "header.media_id (one for all) or header.column (a URL per recipient).",
                code="parameters_mismatch",
            )
        sources = [k for k in ("link", "media_id", "column") if header.get(k)]
        if len(sources) != 1:
            raise MappingError("header: give one of link, media_id or column.")
        if header.get("column") and columns is not None and header["column"] not in columns:
            raise MappingError(
                f"header: the audience has no column '{header['column']}'.", code="unknown_column"
            )
    else:
        missing = [n for n in layout.header if n not in header]
        if missing or any(n not in layout.header for n in header):
            raise MappingError(
                "The template's header takes "
                f"{len(layout.header)} parameter(s): map exactly those.",
                code="parameters_mismatch",
            )
        for name, spec in header.items():
            _check_spec(f"header {{{{{name}}}}}", spec, columns)
    buttons = parameters.get("buttons") or {}
    for index, spec in buttons.items():
        if str(index) not in layout.buttons:
            raise MappingError(
                f"Button {index} of the template takes no parameter.", code="parameters_mismatch"
            )
        _check_spec(f"button {index}", spec, columns)
    for index, kind in layout.buttons.items():
        if kind in ("URL", "COPY_CODE") and index not in {str(i) for i in buttons}:
            raise MappingError(
                f"Button {index} ({kind.lower()}) needs a parameter.", code="parameters_mismatch"
            )


class MissingParameter(Exception):
    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


def _value(where: str, spec: dict, columns: dict) -> str:
    raw = spec["value"] if "value" in spec else columns.get(spec["column"])
    if is_blank(raw):
        raise MissingParameter(where, f"'{spec.get('column')}' is empty")
    try:
        text = format_value(raw, spec.get("format", "text"))
    except FormatError as exc:
        raise MissingParameter(where, str(exc)) from exc
    if not text:
        raise MissingParameter(where, "empty")
    return text


def _substitute(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def recipient_parameters(template, parameters: dict, columns: dict) -> tuple[list, str]:
    """Meta's `components` for this recipient and the body as WhatsApp will show it.
    Raises MissingParameter when a mapped value is empty or cannot be formatted."""
    layout = template_layout(template)
    components: list[dict] = []
    header = parameters.get("header") or {}
    if layout.header_media:
        kind = layout.header_media
        if header.get("column"):
            link = _value("header", {"column": header["column"]}, columns)
            if not link.lower().startswith(("https://", "http://")):
                raise MissingParameter("header", f"'{link}' is not a URL")
            media = {"link": link}
        elif header.get("media_id"):
            media = {"id": str(header["media_id"])}
        else:
            media = {"link": header["link"]}
        if kind == "document" and header.get("filename"):
            media["filename"] = header["filename"]
        components.append({"type": "header", "parameters": [{"type": kind, kind: media}]})
    elif layout.header:
        values = [_value(f"header {{{{{n}}}}}", header[n], columns) for n in layout.header]
        components.append(
            {
                "type": "header",
                "parameters": [
                    _text_param(name, value, layout.named)
                    for name, value in zip(layout.header, values, strict=True)
                ],
            }
        )
    body = parameters.get("body") or {}
    if isinstance(body, list):
        body = {str(i + 1): spec for i, spec in enumerate(body)}
    names = sorted(layout.body, key=int) if not layout.named else layout.body
    values = {n: _value(f"body {{{{{n}}}}}", body[n], columns) for n in names}
    if names:
        components.append(
            {
                "type": "body",
                "parameters": [_text_param(n, values[n], layout.named) for n in names],
            }
        )
    buttons = {str(k): v for k, v in (parameters.get("buttons") or {}).items()}
    for index in sorted(buttons, key=int):
        kind = layout.buttons.get(index)
        value = _value(f"button {index}", buttons[index], columns)
        if kind == "URL":
            param = {"type": "text", "text": value}
            sub_type = "url"
        elif kind == "COPY_CODE":
            param = {"type": "coupon_code", "coupon_code": value}
            sub_type = "copy_code"
        else:
            param = {"type": "payload", "payload": value}
            sub_type = "quick_reply"
        components.append(
            {"type": "button", "sub_type": sub_type, "index": index, "parameters": [param]}
        )
    return components, _substitute(layout.body_text, values) if layout.body_text else ""


def _text_param(name: str, value: str, named: bool) -> dict:
    if named:
        return {"type": "text", "parameter_name": name, "text": value}
    return {"type": "text", "text": value}


def rendered_parts(template, parameters: dict, columns: dict) -> dict:
    """Header, body, footer and buttons as the customer sees them (for previews)."""
    layout = template_layout(template)
    _, body = recipient_parameters(template, parameters, columns)
    header = parameters.get("header") or {}
    header_text = ""
    if layout.header_text:
        values = {n: _value("header", header[n], columns) for n in layout.header}
        header_text = _substitute(layout.header_text, values)
    buttons = [
        b.get("text", "")
        for b in (template.component("BUTTONS") or {}).get("buttons", [])
        if b.get("text")
    ]
    return {
        "header": header_text or (f"[{layout.header_media}]" if layout.header_media else ""),
        "body": body,
        "footer": layout.footer_text,
        "buttons": buttons,
    }
