"""Static checks of a built email against the project's quality bars.

Size below Gmail's clipping point, one ``h1`` and no skipped heading level,
``lang`` and ``<title>``, alt text on every image, body text of at least 14 px,
and a contrast ratio of at least 4.5:1 between each text and its background
(WCAG 2.x), computed from the inlined styles. ``build`` prints what fails as
warnings; the tests hold the sample issue to all of them.
"""

from __future__ import annotations

import functools
import itertools
import re

import lxml.html

__all__ = ["MAX_HTML_BYTES", "contrast", "email_warnings"]

MAX_HTML_BYTES = 90 * 1024
MIN_FONT_PX = 14
MIN_CONTRAST = 4.5

_DECL_RE = re.compile(r"\s*([-a-z]+)\s*:\s*([^;]+?)\s*(?:!important)?\s*(?:;|$)", re.I)
_HEX_RE = re.compile(r"#([0-9a-f]{3}|[0-9a-f]{6})\b", re.I)


def _style(el: lxml.html.HtmlElement) -> dict[str, str]:
    return _declarations(el.get("style", ""))


@functools.lru_cache(maxsize=4096)
def _declarations(style: str) -> dict[str, str]:
    """A ``style`` attribute's declarations; parsed once per distinct attribute, since
    every element is looked at with each of its ancestors and premailer writes the
    same few attributes throughout (the result is shared: not to be changed)."""
    return {m.group(1).lower(): m.group(2).strip() for m in _DECL_RE.finditer(style)}


def _rgb(value: str) -> tuple[float, float, float] | None:
    m = _HEX_RE.search(value)
    if not m:
        named = {"white": "ffffff", "black": "000000"}.get(value.strip().lower())
        return _rgb("#" + named) if named else None
    h = m.group(1)
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two CSS colours (hex or white/black)."""
    a, b = _rgb(fg), _rgb(bg)
    if a is None or b is None:
        raise ValueError(f"not a colour: {fg!r} / {bg!r}")
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _inherited(el: lxml.html.HtmlElement, prop: str, attr: str | None = None) -> str | None:
    for node in (el, *el.iterancestors()):
        value = _style(node).get(prop)
        if value is None and prop == "background-color":
            value = _style(node).get("background")
        if value is None and attr:
            value = node.get(attr)
        if (value and _rgb(value) is not None) or (value and prop == "font-size"):
            return value
    return None


def _hidden(el: lxml.html.HtmlElement) -> bool:
    return any("none" in _style(n).get("display", "") for n in (el, *el.iterancestors()))


def _own_text(el: lxml.html.HtmlElement) -> str:
    return ((el.text or "") + "".join(c.tail or "" for c in el)).strip()


def email_warnings(html: str, *, headings: bool = True) -> list[str]:
    """Every way ``html`` (an inlined email) falls short of the bars; empty when none.

    ``headings=False`` leaves out the skipped heading level, when the caller already
    reports it where a contributor wrote it (``content.check.heading_warnings``).
    """
    out = []
    size = len(html.encode("utf-8"))
    if size > MAX_HTML_BYTES:
        out.append(f"the HTML part is {size:,} bytes, over {MAX_HTML_BYTES:,}: Gmail clips "
                   "messages past about 102 KB; shorten the issue or move items to the web")
    doc = lxml.html.document_fromstring(html)
    if not doc.get("lang"):
        out.append("<html> has no lang attribute")
    if not (doc.findtext(".//title") or "").strip():
        out.append("the document has no <title>")
    levels = [int(h.tag[1]) for h in doc.iter("h1", "h2", "h3", "h4", "h5", "h6")]
    if levels.count(1) != 1:
        out.append(f"the email has {levels.count(1)} h1 headings; it needs exactly one")
    for before, after in itertools.pairwise(levels if headings else []):
        if after > before + 1:
            out.append(f"a heading level is skipped: h{before} followed by h{after}")
            break
    for img in doc.iter("img"):
        if img.get("alt") is None:
            out.append(f"image {img.get('src', '')!r} has no alt attribute")
    for el in doc.body.iter():
        if not isinstance(el.tag, str) or not _own_text(el) or _hidden(el):
            continue
        size_value = _inherited(el, "font-size")
        if size_value and size_value.endswith("px") and float(size_value[:-2]) < MIN_FONT_PX:
            out.append(f"text {_own_text(el)[:30]!r} is {size_value}, under {MIN_FONT_PX}px")
        fg = _inherited(el, "color") or "#000000"
        bg = _inherited(el, "background-color", "bgcolor") or "#ffffff"
        ratio = contrast(fg, bg)
        if ratio < MIN_CONTRAST:
            out.append(f"text {_own_text(el)[:30]!r} has a contrast of {ratio:.2f}:1 "
                       f"({fg} on {bg}), under {MIN_CONTRAST}:1")
    return out
