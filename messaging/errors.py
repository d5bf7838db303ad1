"""Meta's Graph API errors mapped to our stable codes and plain messages."""

from boztell.errors import BoztellError

# code -> (our code, HTTP status for our API, a plain message for the agent)
META_ERRORS = {
    131047: (
        "window_closed",
        422,
        "More than 24 hours have passed since the customer last wrote. Send a template.",
    ),
    131026: (
        "undeliverable",
        422,
        "WhatsApp could not deliver to this number (not on WhatsApp, or an outdated app).",
    ),
    131056: (
        "pair_rate_limited",
        429,
        "Too many messages to this customer in a short time. Wait a moment and retry.",
    ),
    131062: (
        "recipient_needs_phone",
        422,
        "WhatsApp cannot send this message to a customer known only by username (BSUID), "
        "e.g. an authentication template: it needs the customer's phone number.",
    ),
    130429: ("rate_limited", 429, "WhatsApp's throughput limit was reached. Retry shortly."),
    132000: (
        "template_params_mismatch",
        400,
        "The number of template parameters does not match the template.",
    ),
    132001: ("unknown_template", 400, "WhatsApp does not know this template in this language."),
    100: ("invalid_parameter", 400, "WhatsApp refused a parameter of the request."),
    190: (
        "whatsapp_auth_failed",
        502,
        "Boztell's WhatsApp access token is invalid or expired. Tell a supervisor.",
    ),
}


class SendFailed(BoztellError):
    """WhatsApp refused or could not take the message; it is stored as failed."""

    code = "send_failed"
    status = 502


def map_graph_error(exc) -> tuple[str, int, str]:
    """Our (code, status, message) for a GraphError, by Meta's code, else by its class."""
    meta = exc.meta_error or {}
    meta_code = meta.get("code")
    if meta_code in META_ERRORS:
        return META_ERRORS[meta_code]
    if exc.code == "whatsapp_timeout":
        return ("whatsapp_timeout", 502, exc.message)
    if exc.http_status is None or exc.http_status >= 500:
        return ("whatsapp_unavailable", 502, "WhatsApp is unavailable right now. Retry later.")
    if isinstance(meta_code, int) and 132000 <= meta_code < 133000:
        return ("template_error", 400, meta.get("message") or "WhatsApp refused the template.")
    if isinstance(meta_code, int) and 131000 <= meta_code < 132000:
        return ("whatsapp_rejected", 422, meta.get("message") or "WhatsApp refused the message.")
    return ("whatsapp_rejected", 502, meta.get("message") or "WhatsApp refused the request.")
