"""Web-ready copies of the images an edition publishes, as a phone or a camera gives them.

A photo off a phone is 4000 px wide, 3 to 6 MB, turned by an EXIF tag that some
mail clients ignore, and carries the place and the device it was taken with. The
email's column is 600 px, so 1200 px (twice, for high-density screens) is all a
reader can see. ``web_copy`` applies the orientation, drops the metadata, narrows
the picture to ``MAX_WIDTH`` and encodes it again (progressive JPEG at
``JPEG_QUALITY``, optimised PNG); the copy is kept only when it is smaller than the
original, which is published as it is otherwise. Other files (GIF, which may be
animated; SVG; PDF) are published as they are.

This is the one place that decides what is published for an image: ``render``
reads the size of the copy from here (the email's ``width``), and
``build.write_files`` writes it. Pillow does the decoding, rotation, resampling
and encoding, which a well-kept library does better than code of ours would.
"""

from __future__ import annotations

import functools
import io
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..content.images import image_size
from ..fsutil import atomic_write

if TYPE_CHECKING:
    from PIL.Image import Image as Picture

__all__ = ["JPEG_QUALITY", "MAX_WIDTH", "encode_web", "publish", "published_size", "web_copy"]

MAX_WIDTH = 1200  # twice the email's 600 px column
JPEG_QUALITY = 82
_FORMATS = ("JPEG", "PNG")


def web_copy(path: Path) -> tuple[bytes, tuple[int, int]] | None:
    """The web-ready bytes of an image and their (width, height), or None to publish as is.

    None for what is not a JPEG or PNG Pillow can read, and when the copy would not
    be smaller than the original.
    """
    try:
        stat = path.stat()
    except OSError:
        return None
    return _web_copy(str(path), stat.st_mtime_ns, stat.st_size)


def encode_web(original: Picture, kind: str) -> tuple[bytes, tuple[int, int]]:
    """An opened JPEG or PNG (a Pillow image of format ``kind``) as the web gets it:
    turned as its EXIF says, at most ``MAX_WIDTH`` wide, re-encoded without metadata;
    and the copy's (width, height). Used for the issue's images and for uploads."""
    from PIL import Image, ImageOps

    picture = ImageOps.exif_transpose(original)
    if picture.width > MAX_WIDTH:
        height = max(1, round(picture.height * MAX_WIDTH / picture.width))
        picture = picture.resize((MAX_WIDTH, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if kind == "JPEG":
        if picture.mode not in ("RGB", "L"):
            picture = picture.convert("RGB")
        # No exif= nor icc_profile=: the copy carries no metadata.
        picture.save(out, "JPEG", quality=JPEG_QUALITY, progressive=True, optimize=True)
    else:
        if picture.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            picture = picture.convert("RGBA")
        picture.save(out, "PNG", optimize=True)
    return out.getvalue(), (picture.width, picture.height)


@functools.lru_cache(maxsize=32)
def _web_copy(path: str, _mtime_ns: int, size: int) -> tuple[bytes, tuple[int, int]] | None:
    """``web_copy``, kept per file version: ``render`` and ``write_files`` both ask."""
    from PIL import Image  # only when an issue has images

    try:
        with Image.open(path) as original:
            kind = original.format
            if kind not in _FORMATS:
                return None
            data, dimensions = encode_web(original, kind)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None  # not an image Pillow reads: published as it is
    return (data, dimensions) if len(data) < size else None


def published_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of the file published for ``path``: its web copy's, or its own."""
    copy = web_copy(path)
    return copy[1] if copy is not None else image_size(path)


def publish(source: Path, target: Path) -> None:
    """Write the file published for ``source`` at ``target``, atomically."""
    copy = web_copy(source)
    if copy is not None:
        atomic_write(target, copy[0])
        return
    tmp = target.with_name(f".{target.name}.tmp")  # a copy streamed, not read whole
    shutil.copyfile(source, tmp)
    tmp.replace(target)
