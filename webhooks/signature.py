"""Meta's webhook signature: X-Hub-Signature-256 = sha256=<HMAC-SHA256(raw body, app secret)>."""

import hashlib
import hmac


def signature_for(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(body: bytes, header: str | None, secret: str) -> bool:
    # compare_digest refuses a str with non-ASCII characters (TypeError): such a header
    # cannot be a hex digest anyway.
    if not header or not secret or not header.isascii():
        return False
    return hmac.compare_digest(signature_for(body, secret), header.strip())
