"""WhatsApp's media rules (Cloud API "Supported media") and how we store and serve media.

The one place for: which types and sizes WhatsApp takes, which types a browser may show
inline on our origin (everything else is an attachment), the extension a stored file
gets, and what a media id may look like.
"""

import mimetypes
import re
from dataclasses import dataclass

from boztell.errors import BoztellError

KB = 1024
MB = 1024 * KB

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")

MEDIA_LIMITS = {
    "image": 5 * MB,
    "video": 16 * MB,
    "audio": 16 * MB,
    "document": 100 * MB,
    "sticker": 500 * KB,
}

MEDIA_MIME_TYPES = {
    "image": {"image/jpeg", "image/png"},
    "video": {"video/mp4", "video/3gpp"},
    "audio": {"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"},
    "sticker": {"image/webp"},
    "document": {
        "application/pdf",
        "text/plain",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    },
}


# Shown inline (an <img>, <audio> or <video>, or opened in a tab): the types WhatsApp
# takes as image, video, audio and sticker, none of which a browser runs script in.
# Everything else (every document type, PDF included: the browser's viewer runs it, and
# whatever a customer claims: text/html, image/svg+xml, application/xhtml+xml, text/xml)
# is served as an attachment of type application/octet-stream.
INLINE_MIME_TYPES = frozenset().union(
    *(MEDIA_MIME_TYPES[kind] for kind in ("image", "video", "audio", "sticker"))
)

# Our stored files are named by us: the extension comes from this table, never from a
# customer's or agent's filename; a type not in it is stored as .bin.
MIME_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/ogg": ".ogg",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}
UNKNOWN_EXTENSION = ".bin"

# A media id is an opaque token (Meta's are digits; the sandbox's are its own): never a
# path or a URL piece, so no dot, slash or percent sign.
MEDIA_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")

# The policy on every media response: nothing runs. An attachment gets nothing at all,
# and `sandbox` gives it an opaque origin should a browser render it anyway. An inline
# image, audio or video opened in a tab may load itself and keep the browser's own viewer
# styles (without them Chromium's viewer logs CSP violations, and a sandbox without
# allow-same-origin turns the video's own load into a refused cross-origin request);
# scripts, forms, plugins and popups stay sandboxed off.
ATTACHMENT_CSP = "default-src 'none'; sandbox"
INLINE_CSP = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; "
    "sandbox allow-same-origin"
)


def mime_base(mime_type: str | None) -> str:
    """`Audio/OGG; codecs=opus` -> `audio/ogg`."""
    return (mime_type or "").split(";")[0].strip().lower()


def media_inline(mime_type: str | None) -> bool:
    """Whether a browser may show this file on our origin (else: an attachment)."""
    return mime_base(mime_type) in INLINE_MIME_TYPES


def media_extension(mime_type: str | None) -> str:
    return MIME_EXTENSIONS.get(mime_base(mime_type), UNKNOWN_EXTENSION)


def media_id_valid(media_id) -> bool:
    return isinstance(media_id, str) and MEDIA_ID.fullmatch(media_id) is not None


@dataclass(frozen=True)
class MediaServing:
    """How GET /messages/{id}/media answers for a file of a given type."""

    content_type: str
    as_attachment: bool
    headers: dict


def media_serving(mime_type: str | None) -> MediaServing:
    if media_inline(mime_type):
        return MediaServing(
            mime_base(mime_type),
            False,
            {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": INLINE_CSP},
        )
    return MediaServing(
        "application/octet-stream",
        True,
        {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": ATTACHMENT_CSP},
    )


class InvalidMedia(BoztellError):
    code = "invalid_media"
    status = 400


class MediaTooLargeForType(BoztellError):
    code = "media_too_large"
    status = 413


def media_kind(mime_type: str, requested: str | None = None) -> str:
    """The WhatsApp media type for a file, or a clear error."""
    mime = mime_base(mime_type)
    if requested:
        if requested not in MEDIA_MIME_TYPES:
            raise InvalidMedia(f"type must be one of {', '.join(sorted(MEDIA_MIME_TYPES))}.")
        if mime not in MEDIA_MIME_TYPES[requested]:
            raise InvalidMedia(
                f"WhatsApp does not take {mime or 'this file'} as {requested}; "
                f"allowed: {', '.join(sorted(MEDIA_MIME_TYPES[requested]))}."
            )
        return requested
    for kind in ("image", "video", "audio", "document", "sticker"):
        if mime in MEDIA_MIME_TYPES[kind]:
            return kind
    raise InvalidMedia(f"WhatsApp does not take files of type {mime or 'unknown'}.")


def check_size(kind: str, size: int) -> None:
    limit = MEDIA_LIMITS[kind]
    if size > limit:
        raise MediaTooLargeForType(
            f"The {kind} is {size / MB:.1f} MB; WhatsApp allows {limit / MB:.1f} MB for {kind}s."
        )
    if size == 0:
        raise InvalidMedia("The file is empty.")


def guess_mime(filename: str, declared: str | None) -> str:
    if declared and declared != "application/octet-stream":
        return declared
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"
