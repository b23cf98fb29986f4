"""An image sent from the submission page, which is untrusted: what is kept of it.

Nothing of what the browser says is believed: not the file's name (never used:
the server names the file), not its Content-Type. The bytes are decoded by
Pillow; only a JPEG or a PNG is accepted, of a bounded size in bytes and in
pixels (a small file may decode to a huge picture). What is written is not the
upload but a new encoding of the decoded picture, as ``edition.assets`` makes the
web copies of an edition: its orientation applied, narrowed to ``MAX_WIDTH``, no
metadata (place, device) carried over, at the same quality. Unlike the edition's
copy, it is kept even when it is not smaller: the original is never written.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from ..edition.assets import encode_web
from ..errors import InfoLettreError

__all__ = ["MAX_IMAGE_BYTES", "MAX_PIXELS", "Refused", "WebImage", "reencode"]

#: The largest upload read (the request itself is bounded a little above it).
MAX_IMAGE_BYTES = 10 * 1024 * 1024
#: The largest picture decoded: 40 megapixels, well above any phone's.
MAX_PIXELS = 40_000_000
_KINDS = {"JPEG": "jpg", "PNG": "png"}


class Refused(InfoLettreError):
    """The upload is not kept; ``reason`` is a key of the catalogues (the page says it
    next to the image field, with the HTTP status of a form with a problem)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebImage:
    """The bytes to write and the suffix of their format (``jpg`` or ``png``)."""

    data: bytes
    suffix: str
    size: tuple[int, int]


def reencode(data: bytes) -> WebImage:
    """The web-ready image for an upload's bytes, or ``Refused``."""
    from PIL import Image

    if len(data) > MAX_IMAGE_BYTES:
        raise Refused("contribute_image_too_big")
    try:
        with Image.open(io.BytesIO(data)) as original:
            kind = original.format or ""
            if kind not in _KINDS:
                raise Refused("contribute_image_kind")
            if original.width * original.height > MAX_PIXELS:
                raise Refused("contribute_image_too_big")
            original.load()
            data, size = encode_web(original, kind)
            return WebImage(data, _KINDS[kind], size)
    except Refused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError):
        raise Refused("contribute_image_kind") from None
