"""WhatsApp's media rules: which types and sizes it takes (Cloud API "Supported media")."""

import mimetypes

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


class InvalidMedia(BoztellError):
    code = "invalid_media"
    status = 400


class MediaTooLargeForType(BoztellError):
    code = "media_too_large"
    status = 413


def media_kind(mime_type: str, requested: str | None = None) -> str:
    """The WhatsApp media type for a file, or a clear error."""
    mime = (mime_type or "").split(";")[0].strip().lower()
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
