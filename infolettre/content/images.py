"""The pictures a text shows, where, and their size in pixels.

``body_images`` lists the images of a Markdown body from the parse tree that
renders it, so that what ``check`` looks at and what the build publishes are the
images readers get: inline (``![alt](photo.jpg)``), reference-style
(``![alt][p]`` with ``[p]: photo.jpg``) and ``<img>`` tags of raw HTML, read by
an HTML parser (a quoted ``>`` or a ``data-src`` attribute fooled a regex).

``image_size`` reads the pixel size of PNG, GIF and JPEG files from their
headers: mail clients (Outlook above all) need an image's ``width`` attribute,
and reading the header is enough for a file published as it is (``check`` and
``new-item`` need no imaging library; ``edition.assets`` makes the photos' copies).
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import markdown
from markdown.treeprocessors import Treeprocessor
from markdown.util import HTML_PLACEHOLDER_RE

from . import markup

__all__ = ["body_images", "image_size"]

#: An image as found: its markup as written (to locate it), its address, its alt text.
_Found = tuple[str, str, str]


class _HtmlImages(HTMLParser):
    """The ``<img>`` tags of a piece of raw HTML, attributes read as a browser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[_Found] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            values: dict[str, str] = {}
            for name, value in attrs:  # the first of two same attributes counts
                values.setdefault(name, value or "")
            self.found.append((self.get_starttag_text() or "", values.get("src", "").strip(),
                               values.get("alt", "").strip()))


class _Collect(Treeprocessor):
    """Record the images of the parse tree in the order of the text, raw HTML included."""

    def __init__(self, md: markdown.Markdown, found: list[_Found]) -> None:
        super().__init__(md)
        self.found = found

    def _raw(self, value: str | None) -> None:
        blocks = self.md.htmlStash.rawHtmlBlocks
        for i, part in enumerate(HTML_PLACEHOLDER_RE.split(value or "")):
            if i % 2 and int(part) < len(blocks):
                html = _HtmlImages()
                html.feed(str(blocks[int(part)]))
                html.close()
                self.found.extend(html.found)

    def _walk(self, el: ET.Element) -> None:
        self._raw(el.text)
        for child in el:
            if child.tag == "img":
                written = child.attrib.pop(markup.WRITTEN, "")
                self.found.append((written, child.get("src", "").strip(),
                                   (child.get("alt") or "").strip()))
            self._walk(child)
            self._raw(child.tail)

    def run(self, root: ET.Element) -> None:
        self._walk(root)


def body_images(source: str) -> list[tuple[int, str, str]]:
    """Every image a body shows, in the order of the text: (line within the body, src, alt).

    The line is where the image's markup is written, looked for from the previous
    image on so that the scan stays linear (or, when the markup was rewritten by the
    parser, where its address is); a reference image is on the line that shows it,
    not on that of its ``[p]: photo.jpg``.
    """
    md = markup.parser("", 0, noting_images=True)
    found: list[_Found] = []
    md.treeprocessors.register(_Collect(md, found), "infolettre-images", 6)
    md.convert(source)
    images = []
    pos = line = 0
    for written, src, alt in found:
        at = source.find(written, pos) if written else -1
        if at < 0 and src:
            at = source.find(src, pos)
        if at >= 0:
            line += source.count("\n", pos, at)
            pos = at
        images.append((line, src, alt))
    return images


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) in pixels, or None when the format is not recognised."""
    try:
        with path.open("rb") as f:
            head = f.read(26)
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                return struct.unpack(">II", head[16:24])
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return struct.unpack("<HH", head[6:10])
            if head[:2] == b"\xff\xd8":
                return _jpeg_size(f)
    except (OSError, struct.error):
        return None
    return None


def _jpeg_size(f) -> tuple[int, int] | None:
    f.seek(2)
    while True:
        marker = f.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:
            continue
        length = struct.unpack(">H", f.read(2))[0]
        if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">xHH", f.read(5))
            return width, height
        f.seek(length - 2, 1)
