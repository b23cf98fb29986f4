"""Contributor Markdown to sanitised HTML and to plain text.

Both outputs come from the same Markdown parse tree (Python-Markdown's
ElementTree), so the text part is rendered from the source, not scraped from the
HTML. Contributor Markdown is untrusted: the HTML goes through nh3 (the Ammonia
sanitiser) with an allowlist of tags, attributes and URL schemes, and raw HTML is
reduced to its text in the plain-text part. Relative links and images are made
absolute against the issue's public address, since a mail client has no base URL.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

import markdown
import nh3
from markdown import inlinepatterns as ip
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE, HTML_PLACEHOLDER_RE

from ..typography import MIN_WIDTH, WIDTH, tie_punctuation, wrap
from .addresses import SCHEMES, absolute, allowed, bad_image_src, is_relative, public_url
from .bullets import WordBullets, word_bullets

__all__ = [
    "ALLOWED_TAGS", "MIN_WIDTH", "WIDTH", "WRITTEN", "bad_image_src", "is_relative",
    "parser", "public_url", "strip_comments", "tie_punctuation", "to_html", "to_text",
    "top_heading", "word_bullets", "wrap",
]

#: How far Python-Markdown looks for the ``]`` closing a link's text, and for the ``)``
#: closing its address. It scans to the end of the paragraph for every ``[`` (time
#: quadratic in the paragraph: 10 KB of ``[`` took 25 s); a link is far shorter.
LINK_SCAN = 1000

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
_EXTENSIONS = ["sane_lists", "tables"]


#: An image's (width, height) in the email, by its address as written in the text.
ImageSizes = Mapping[str, tuple[int, int]]


_HEADING_TAG_RE = re.compile(r"h[1-6]")


def _heading_levels(root: ET.Element) -> list[int]:
    """The levels of the Markdown headings of a parse tree, in the order of the text."""
    return [int(el.tag[1]) for el in root.iter() if _HEADING_TAG_RE.fullmatch(el.tag)]


class _Prepare(Treeprocessor):
    """Absolute links, absolute and sized images; headings just below the text's title.

    Contributors start at ``#``, ``##`` or ``###`` alike, so the text's highest
    heading, whatever its ``#``, becomes ``h{1+offset}`` and the others keep their
    distance from it: no level is skipped below the theme's title unless the text
    itself skips one. ``top`` is that highest level as written (None: no heading).
    """

    def __init__(self, md: markdown.Markdown, base: str, heading_offset: int,
                 image_sizes: ImageSizes) -> None:
        super().__init__(md)
        self.base = base
        self.offset = heading_offset
        self.sizes = image_sizes
        self.top: int | None = None

    def run(self, root: ET.Element) -> None:
        levels = _heading_levels(root)
        self.top = min(levels, default=None)
        shift = self.offset + 1 - (self.top or 1)
        for el in root.iter():
            # Markdown hides autolinked addresses behind character entities; mail
            # clients and the text part want them plain.
            for name, value in el.items():
                if AMP_SUBSTITUTE in value:
                    el.set(name, html.unescape(value.replace(AMP_SUBSTITUTE, "&")))
            if el.text and AMP_SUBSTITUTE in el.text:
                el.text = html.unescape(el.text.replace(AMP_SUBSTITUTE, "&"))
            if el.tag not in ("code", "pre"):
                el.text = el.text and tie_punctuation(el.text)
            el.tail = el.tail and tie_punctuation(el.tail)
            if el.tag == "a" and el.get("href") is not None:
                el.set("href", absolute(el.get("href", ""), self.base))
            elif el.tag == "img" and el.get("src") is not None:
                src = el.get("src", "").strip()
                if size := self.sizes.get(src):
                    el.set("width", str(size[0]))
                    el.set("height", str(size[1]))
                el.set("src", public_url(self.base, src) if is_relative(src)
                       else absolute(src, self.base))
            elif _HEADING_TAG_RE.fullmatch(el.tag):
                el.tag = f"h{min(6, int(el.tag[1]) + shift)}"


class _Bounded(ip.LinkInlineProcessor):
    """Link and image parsing that looks at most LINK_SCAN characters ahead.

    The library's own scans run on a slice of that length, so the result is the
    library's for every link that fits in it; an unclosed bracket stays text.
    """

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:
        if data.find("]", index, index + LINK_SCAN) < 0:
            return "", index, False
        text, end, handled = super().getText(data[index:index + LINK_SCAN], 0)
        return text, index + end, handled

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:
        if data.find(")", index, index + LINK_SCAN) < 0:
            return "", None, index, False
        href, title, end, handled = super().getLink(data[index:index + LINK_SCAN], 0)
        return href, title, index + end, handled


def _bounded(cls: type) -> type:
    return type(f"Bounded{cls.__name__}", (_Bounded, cls), {})


#: The attribute under which ``parser(noting_images=True)`` keeps an image's Markdown
#: as written (``![alt](src)``, ``![alt][ref]``), for ``images`` to find its line.
WRITTEN = "\0written"


class _Noting:
    """An image pattern that notes, on the image, the Markdown it was parsed from."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[ET.Element | None, int, int]:
        el, start, end = super().handleMatch(m, data)  # type: ignore[misc]
        if el is not None and el.tag == "img":
            el.set(WRITTEN, data[start:end])
        return el, start, end


_LINK_PATTERNS = {  # as Python-Markdown registers them: name: (class, pattern, priority)
    "reference": (ip.ReferenceInlineProcessor, ip.REFERENCE_RE, 170),
    "link": (ip.LinkInlineProcessor, ip.LINK_RE, 160),
    "image_link": (ip.ImageInlineProcessor, ip.IMAGE_LINK_RE, 150),
    "image_reference": (ip.ImageReferenceInlineProcessor, ip.IMAGE_REFERENCE_RE, 140),
    "short_reference": (ip.ShortReferenceInlineProcessor, ip.REFERENCE_RE, 130),
    "short_image_ref": (ip.ShortImageReferenceInlineProcessor, ip.IMAGE_REFERENCE_RE, 125),
}


def parser(base: str, heading_offset: int, *, noting_images: bool = False,
           image_sizes: ImageSizes | None = None) -> markdown.Markdown:
    """The one Markdown parser of contributor text, for the HTML, the text and the images.

    With ``noting_images``, each image keeps its Markdown in the ``WRITTEN`` attribute;
    an image whose address is in ``image_sizes`` gets its ``width`` and ``height``.
    """
    md = markdown.Markdown(extensions=_EXTENSIONS, output_format="html")
    for name, (cls, pattern, priority) in _LINK_PATTERNS.items():
        bounded = _bounded(cls)
        if noting_images and name.startswith(("image", "short_image")):
            bounded = type(f"Noting{bounded.__name__}", (_Noting, bounded), {})
        md.inlinePatterns.register(bounded(pattern, md), name, priority)
    md.preprocessors.register(WordBullets(md), "word_bullets", 35)  # before tabs expand
    prepare = _Prepare(md, base, heading_offset, image_sizes or {})
    md.treeprocessors.register(prepare, "infolettre", 5)
    return md


def to_html(source: str, base: str, heading_offset: int = 3,
            image_sizes: ImageSizes | None = None) -> str:
    """Sanitised HTML for a body; its highest heading (``#``, or ``##`` when the text
    starts there) becomes ``h{1+offset}``, the others following it level for level.

    ``image_sizes`` gives, by address as written, the ``width`` and ``height`` an image
    is shown at (Outlook knows no other); the address of a file beside the text is
    its ``public_url``.
    """
    raw = parser(base, heading_offset, image_sizes=image_sizes).convert(source)
    return nh3.clean(raw, tags=ALLOWED_TAGS, attributes=_ATTRIBUTES, url_schemes=SCHEMES,
                     link_rel=None, strip_comments=True,
                     url_relative=("rewrite_with_base", base))


def top_heading(source: str) -> int | None:
    """The number of ``#`` of the highest heading of ``source`` as written, or None.

    ``to_html`` renders that heading as ``h{1+offset}``: ``check`` needs it to say
    how many ``#`` a heading it finds too low should have.
    """
    md = parser("", 0)
    md.convert(source)
    prepare = md.treeprocessors["infolettre"]
    assert isinstance(prepare, _Prepare)
    return prepare.top


# -- plain text ---------------------------------------------------------------------

_CONTENT_TAGS = ("script", "style", "iframe", "object", "embed", "template", "noscript")
_OPEN_RE = re.compile(r"^<({})\b".format("|".join(_CONTENT_TAGS)), re.IGNORECASE)
_CLOSE_RE = re.compile(r"</({})\s*>\s*$".format("|".join(_CONTENT_TAGS)), re.IGNORECASE)


def _resolve_raw_html(root: ET.Element, blocks: list[str]) -> None:
    """Put the text of raw HTML where Markdown would insert the HTML itself.

    Walks text in document order. Inline HTML is stashed tag by tag, so the
    content of a ``<script>`` written inline sits between two placeholders and is
    dropped with them; a block of HTML is reduced to its text.
    """
    skipping = False

    def resolve(value: str | None) -> str | None:
        nonlocal skipping
        if not value:
            return value
        out = []
        for i, part in enumerate(HTML_PLACEHOLDER_RE.split(value)):
            if i % 2 == 0:
                out.append("" if skipping else part)
                continue
            raw = str(blocks[int(part)]) if int(part) < len(blocks) else ""
            if _OPEN_RE.match(raw.strip()):
                skipping = not _CLOSE_RE.search(raw)
            elif _CLOSE_RE.search(raw):
                skipping = False
            elif not skipping:
                out.append(html.unescape(nh3.clean(raw, tags=set())))
        return "".join(out)

    def walk(el: ET.Element) -> None:
        el.text = resolve(el.text)
        for child in el:
            walk(child)
            child.tail = resolve(child.tail)

    walk(root)


_BREAK = "\u2028"  # a <br>: the one place a line ends inside a paragraph


def _link(label: str, href: str) -> str:
    if not allowed(href):
        return label  # fragments and any scheme the HTML sanitiser would drop
    target = href[len("mailto:"):] if href.startswith("mailto:") else href
    if not target:
        return label
    if not label or label.strip() == target:
        return f"<{target}>"
    return f"{label} <{target}>"


def _inline(el: ET.Element) -> str:
    """The text of an inline run, links written ``label <url>``."""
    parts = [el.text or ""]
    for child in el:
        if child.tag == "a":
            parts.append(_link(_inline(child).strip(), child.get("href", "")))
        elif child.tag == "img":
            alt, src = child.get("alt", ""), child.get("src", "")
            parts.append(f"[{alt}]" if not allowed(src) else f"[{alt} <{src}>]")
        elif child.tag == "br":
            parts.append(_BREAK)
        else:
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _fill(text: str, width: int, first: str = "", rest: str = "") -> str:
    lines = [wrap(part, width, first if i == 0 else rest, rest)
             for i, part in enumerate(text.split(_BREAK))]
    return "\n".join(lines)


def _indented(width: int, by: int) -> tuple[int, bool]:
    """The width inside an indentation of ``by`` columns, and whether to indent at all.

    Below MIN_WIDTH, deeper levels are not indented further: a quote in a quote
    forty levels deep is still a quote, and no line is ever narrower.
    """
    return (width - by, True) if width - by >= MIN_WIDTH else (width, False)


def _blocks(el: ET.Element, width: int) -> list[str]:
    out: list[str] = []
    if (el.text or "").strip():
        out.append(_fill(el.text or "", width))
    for child in el:
        tag = child.tag
        if tag in ("ul", "ol"):
            start = int(child.get("start", "1") or 1) if tag == "ol" else 0
            lines = []
            for n, li in enumerate(c for c in child if c.tag == "li"):
                bullet = f"{start + n}. " if tag == "ol" else "- "
                inner_width, indent = _indented(width, len(bullet))
                pad = " " * len(bullet) if indent else ""
                nested = any(c.tag in ("p", "ul", "ol") for c in li)
                inner = _blocks(li, inner_width) if nested else \
                    [_fill(_inline(li), inner_width)]
                body = "\n".join(inner).split("\n")
                if not indent and body[0]:  # the bullet on a line of its own
                    body.insert(0, "")
                lines.append(bullet + body[0] + "".join("\n" + (pad + x if x else "")
                                                        for x in body[1:]))
            out.append("\n".join(lines))
        elif tag == "pre":
            out.append("".join(child.itertext()).rstrip("\n"))
        elif tag == "blockquote":
            inner_width, indent = _indented(width, 2)
            quoted = "\n\n".join(_blocks(child, inner_width))
            out.append("\n".join(("> " + x).rstrip() for x in quoted.split("\n"))
                       if indent else quoted)
        elif tag == "hr":
            out.append("-" * 20)
        elif tag == "table":
            rows = [" | ".join(_inline(c).strip() for c in tr) for tr in child.iter("tr")]
            out.append("\n".join(_fill(r, width) for r in rows))
        elif re.fullmatch(r"h[1-6]", tag):
            title = " ".join(_inline(child).split())
            out.append(_fill(title, width) + "\n" + "-" * min(width, len(title)))
        elif tag == "div":
            out.extend(_blocks(child, width))
        else:
            text = _inline(child)
            if text.strip():
                out.append(_fill(text.strip(), width))
        if (child.tail or "").strip():
            out.append(_fill(child.tail or "", width))
    return out


def to_text(source: str, base: str, width: int = WIDTH) -> str:
    """Plain text for a body: paragraphs filled to ``width``, links kept in ``<>``."""
    md = parser(base, 0)

    def serialize(root: ET.Element) -> str:
        _resolve_raw_html(root, [str(b) for b in md.htmlStash.rawHtmlBlocks])
        return "\n\n".join(_blocks(root, width))

    md.serializer = serialize
    md.stripTopLevelTags = False
    text = "\n".join(line.rstrip() for line in md.convert(source).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


#: No Markdown text (a body, the edito, the closing) may be longer, whatever the
#: configuration: Python-Markdown rebuilds a paragraph's string at each inline match
#: (100 KB of backslashes: 7 s), and the standard library's HTML parser it uses for
#: raw HTML rescans the rest of the text at each unclosed start tag before Python
#: 3.11.13 (20,000 characters of ``<x `` take 7 s), so both times grow with the
#: square of the length. ``check`` says so.
MAX_TEXT_CHARS = 10_000


def strip_comments(text: str) -> str:
    """``text`` without its HTML comments, in one pass (a regex took minutes on ``<!--``×N)."""
    out = []
    pos = 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break  # unclosed: like ``<!--.*?-->``, leave the rest as it is
        out.append(text[pos:start])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)
