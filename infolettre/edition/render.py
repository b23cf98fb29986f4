"""Render an issue with Jinja2 into the email's HTML and text parts and the web page.

Templates are looked up first in the configured ``templates_dir`` (a user's
overrides, file by file), then in the default theme shipped with the package.
Everything here runs once per edition; per-recipient values stay placeholders.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from ..config import Config
from ..content import markup
from ..content.i18n import catalogue
from ..content.images import body_images
from ..content.model import SECTIONS, Issue, NewsItem
from ..errors import InfoLettreError
from ..theme import environment
from . import placeholders
from .assets import published_size
from .ready import Asset

__all__ = [
    "Asset", "Rendered", "Shared", "asset_target", "email_fragment", "first_paragraph",
    "fluid_images", "render_edition",
    "short_links", "short_url", "shown_size",
]

EMAIL_WIDTH = 600
CONTENT_WIDTH = 552  # EMAIL_WIDTH less the padding of a section
#: The widest and tallest the logo is shown in the email's header.
LOGO_WIDTH, LOGO_HEIGHT = 240, 80
#: Where the configuration's logo is published, under the issue's address.
LOGO_FOLDER = PurePosixPath("brand")
#: The longest a bare address is shown as a link's text in the email.
SHORT_URL_CHARS = 40

_BARE_LINK_RE = re.compile(r'<a href="(https?://[^"]+)">([^<]+)</a>')
_PARAGRAPH_RE = re.compile(r"<p>(.*?)</p>", re.S)
_TAG_RE = re.compile(r"<[^>]+>")


def short_url(url: str, limit: int = SHORT_URL_CHARS) -> str:
    """A web address as a reader wants to see it: host and path, without the scheme,
    ``www.``, query or a final slash, ellipsised past ``limit`` characters. A long
    address is a word no phone can wrap (``overflow-wrap`` is unsupported in Gmail,
    Outlook and Yahoo), which widens the whole email."""
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.")
    text = (host + parts.path).rstrip("/") or url
    return text if len(text) <= limit else text[:limit - 1].rstrip("/.-_") + "…"


def short_links(fragment: str) -> Markup:
    """``fragment`` (HTML) with each link whose text is its bare address shown shorter
    (``short_url``); the address itself, and the text part, keep it in full."""
    def shorter(m: re.Match[str]) -> str:
        href, text = m.group(1), m.group(2)
        if htmllib.unescape(text).strip() != htmllib.unescape(href):
            return m.group(0)
        return f'<a href="{href}">{htmllib.escape(short_url(htmllib.unescape(href)), False)}</a>'
    return Markup(_BARE_LINK_RE.sub(shorter, str(fragment)))


_SIZED_IMG_RE = re.compile(r'<img\b(?![^>]*\bstyle=)([^>]*?)\bwidth="(\d+)"')


def fluid_images(fragment: str) -> Markup:
    """``fragment`` (HTML) with each image of a given width made fluid: 100 % of the
    column, at most its width. An image's width alone (even under ``max-width:
    100%``) widens the table cells around it to that width on a phone; a width in per
    cent does not. Outlook for Windows, which ignores it, keeps the attribute's."""
    return Markup(_SIZED_IMG_RE.sub(
        lambda m: f'<img style="width:100%;max-width:{m.group(2)}px;height:auto"'
                  f'{m.group(1)}width="{m.group(2)}"', str(fragment)))


def email_fragment(fragment: str) -> Markup:
    """A text's HTML as the email shows it: short links, fluid images."""
    return fluid_images(short_links(fragment))


def first_paragraph(fragment: str) -> Markup:
    """The first paragraph of ``fragment`` (HTML) that holds text: a digest's summary
    of an item that gives none (an image alone in a paragraph is passed over)."""
    for m in _PARAGRAPH_RE.finditer(str(fragment)):
        if _TAG_RE.sub("", m.group(1)).strip():
            return Markup(m.group(0))
    return Markup("")


@dataclass(frozen=True)
class Rendered:
    """One issue rendered: email HTML (not yet inlined), text part, web page, assets.

    The email's HTML and text hold the placeholders marked with ``nonce``
    (``placeholders.marked``); ``placeholders.seal`` makes them plain once the
    HTML is inlined. The text part is sealed here already.
    """

    html: str
    text: str
    web: str
    stylesheet: str
    assets: tuple[Asset, ...]
    nonce: str = ""


def asset_target(issue: Issue, file: Path) -> PurePosixPath | None:
    """Where a local file is published, relative to the issue's address.

    None when the file lies outside the issue folder (``check`` reports it).
    """
    try:
        return PurePosixPath(file.resolve().relative_to(issue.path.resolve()).as_posix())
    except ValueError:
        return None


def shown_size(file: Path) -> tuple[int, int] | None:
    """(width, height) at which an image file is shown in the email's column, or None.

    The size of the file published (a photo's narrowed copy, not the original),
    narrowed to the column: mail clients that ignore CSS (Outlook) lay the image out
    by these attributes alone, and without a height some reserve no room for it.
    """
    size = published_size(file)
    if not size or size[0] <= 0 or size[1] <= 0:
        return None
    width = min(size[0], CONTENT_WIDTH)
    return width, max(1, round(size[1] * width / size[0]))


@dataclass
class Shared:
    """What the editions of one issue have in common, worked out once for them all.

    An item is the same in every edition that shows it in the same language (the
    source's, when it falls back), and every edition has the same templates: an
    issue of five editions parses its templates, and converts an untranslated
    item's Markdown, once rather than five times.
    """

    env: jinja2.Environment | None = None
    #: (item file, language shown in): the item as ``_Item`` rendered it.
    items: dict[tuple[Path, str], _Item] = field(default_factory=dict)
    #: (part, text): the edito, closing or contact text converted, shared by the
    #: editions that show it untranslated.
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (what, file, language): the warnings ``build`` found in that text.
    warnings: dict[tuple[str, Path, str], list] = field(default_factory=dict)


class _Item:
    """A news item as templates see it: the model plus its rendered body and image."""

    assets: list[Asset]
    html: Markup
    text: str
    #: The item's image in the email; a height of 0 is unknown and not written.
    image_url: str
    image_width: int
    image_height: int
    #: What a digest shows of it: its ``summary:``, else its first paragraph.
    summary_html: Markup

    def __init__(self, item: NewsItem, issue: Issue, issue_url: str,
                 same: _Item | None = None) -> None:
        self.item = item
        if same is not None:  # this item in this language, rendered for another edition
            self.assets, self.html, self.text = same.assets, same.html, same.text
            self.image_url, self.image_width = same.image_url, same.image_width
            self.image_height = same.image_height
            self.summary_html = same.summary_html
            return
        self.assets = []
        folder = item.path.parent.relative_to(issue.path).as_posix()
        base = issue_url + ("" if folder == "." else folder + "/")
        sizes = {}
        for _, src, _ in body_images(item.body):
            if markup.is_relative(src):
                self._publish(issue, item.path.parent / src)
                if shown := shown_size(item.path.parent / src):
                    sizes[src] = shown
        self.html = Markup(markup.to_html(item.body, base, image_sizes=sizes))
        self.text = markup.to_text(item.body, base)
        # The summary is in the item's own language: a translation shown instead of the
        # original (``editions``) is summed up by its own first paragraph.
        summary = item.summary if item.translations.get(item.lang) is None else ""
        self.summary_html = (Markup(markup.to_html(summary, base)) if summary.strip()
                             else first_paragraph(self.html))
        self.image_url, self.image_width, self.image_height = "", CONTENT_WIDTH, 0
        if item.image:
            self.image_url = item.image.src
            if item.image.file is not None:
                target = self._publish(issue, item.image.file)
                if target is not None:
                    self.image_url = markup.public_url(issue_url, target)
                if shown := shown_size(item.image.file):
                    self.image_width, self.image_height = shown

    def _publish(self, issue: Issue, file: Path) -> PurePosixPath | None:
        target = asset_target(issue, file)
        if target is not None and file.is_file():
            self.assets.append(Asset(file, target))
        return target

    def __getattr__(self, name: str) -> object:
        return getattr(self.item, name)


def render_edition(issue: Issue, config: Config, url: str = "",
                   alternates: dict[str, str] | None = None,
                   shared: Shared | None = None) -> Rendered:
    """Render the three outputs of an issue; per-recipient values stay placeholders.

    ``url`` is the edition's public address (``build.edition_url``; "" for
    ``Config.issue_url``), the web page's canonical address. Images stay under the
    issue's own address, published once for all its editions, so that an email
    sent before the issue had editions keeps its images. ``alternates`` gives each
    edition's address by language, source first, when the issue has several: the
    web page links them (``hreflang``) and lets the reader switch. ``shared`` is
    given the same for every edition of one issue, rendered one after the other.
    """
    shared = shared if shared is not None else Shared()
    if shared.env is None:
        shared.env = environment(config.templates_dir)
        shared.env.filters["short_links"] = short_links
        shared.env.filters["email_fragment"] = email_fragment
        shared.env.filters["short_url"] = short_url
    env = shared.env
    issue_url = config.issue_url(issue.slug)
    items = {}
    for item in issue.news:
        same = shared.items.get((item.path, item.lang))
        items[item.path] = shared.items[item.path, item.lang] = _Item(item, issue, issue_url,
                                                                      same)
    brand = _brand(config, issue_url)
    t = catalogue(issue.lang)
    nonce = placeholders.new_nonce()  # contributor text cannot foresee the tokens
    sections = [(name, t(f"section_{name}"), [items[i.path] for i in issue.section(name)])
                for name in SECTIONS]
    context = {
        "issue": issue,
        "t": t,
        "sections": [s for s in sections if s[2]],
        **{f"{part}_{kind}": _converted(shared, kind, text, issue_url)
           for part, text in (("edito", issue.edito), ("closing", issue.closing),
                              ("contact", issue.contact_text)) for kind in ("html", "text")},
        "issue_url": issue_url,
        "edito_lang": _edito_lang(issue),
        "edition_url": url or issue_url,
        "alternates": alternates or {},
        **{name: placeholders.marked(name, nonce) for name in placeholders.NAMES},
        "email_width": EMAIL_WIDTH,
        "content_width": CONTENT_WIDTH,
        "text_dir": "rtl" if issue.lang in _RTL else "ltr",
        "logo": brand[0],
        "postal_lines": [line.strip() for line in config.postal_address.splitlines()
                         if line.strip()],
        "social_links": config.social_links,
    }
    try:
        render = partial(_render, env, context)
        text = placeholders.seal(render("email.txt.j2"), nonce, html=False)
        edition = Rendered(html=render("email.html.j2"), text=text,
                          web=render("web.html.j2"), stylesheet=render("web.css"),
                          assets=tuple({a.target: a for a in (
                              *brand[1], *(a for i in items.values() for a in i.assets))
                          }.values()), nonce=nonce)
    except jinja2.TemplateError as exc:
        where = f"{exc.filename}:{exc.lineno}: " if isinstance(
            exc, jinja2.TemplateSyntaxError) and exc.filename else ""
        raise InfoLettreError(f"{where}template error: {exc}") from None
    return edition


#: Languages written right to left (none has a catalogue yet: ``dir`` is ready for them).
_RTL = frozenset({"ar", "fa", "he", "ur"})


@dataclass(frozen=True)
class Logo:
    """The configuration's logo as the email shows it."""

    url: str
    alt: str
    width: int
    height: int


def _brand(config: Config, issue_url: str) -> tuple[Logo | None, tuple[Asset, ...]]:
    """The logo of the email's header, and the asset that publishes it with the issue's
    images (None, (): no logo set, and the header shows the network's name as text)."""
    if config.logo is None:
        return None, ()
    target = LOGO_FOLDER / config.logo.name
    width, height = published_size(config.logo) or (LOGO_WIDTH, LOGO_HEIGHT)
    scale = min(1.0, LOGO_WIDTH / max(width, 1), LOGO_HEIGHT / max(height, 1))
    return (Logo(markup.public_url(issue_url, target), config.logo_alt,
                 max(1, round(width * scale)), max(1, round(height * scale))),
            (Asset(config.logo, target),))


def _edito_lang(issue: Issue) -> str:
    """The language the edition's edito is written in: that of the translation it is,
    else the source's (an edition whose edito is not translated shows the original)."""
    return next((lang for lang, t in issue.translations.items()
                 if t.edito.strip() and t.edito == issue.edito), issue.original_lang)


def _converted(shared: Shared, kind: str, text: str, base: str) -> str:
    """A text of the issue as HTML (its headings below the section's ``<h2>``) or plain
    text, converted once for all the editions that show it."""
    if (kind, text) not in shared.texts:
        shared.texts[kind, text] = (Markup(markup.to_html(text, base, heading_offset=2))
                                    if kind == "html" else markup.to_text(text, base))
    return shared.texts[kind, text]


def _render(env: jinja2.Environment, context: dict, name: str) -> str:
    return env.get_template(name).render(context)
