"""The issue's content model: plain, immutable data that templates read.

``load`` builds these from the source files; nothing here touches the disk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "APPROVED",
    "SECTIONS",
    "STATUSES",
    "AgendaEntry",
    "Centre",
    "CentreContact",
    "Contact",
    "DateSpan",
    "Image",
    "Issue",
    "IssueText",
    "ItemText",
    "Movement",
    "NewsItem",
    "Person",
    "Translated",
    "default_preheader",
]

#: Other languages' texts of a value: ``{"en": {"title": "…"}, "es": {…}}``.
Translated = Mapping[str, Mapping[str, str]]

#: Sections a news item can belong to, in the order of the InfoLettre.
SECTIONS = ("cdm", "reseau")
#: Where a contributed item stands: sent by a centre's contact, returned to them with
#: a comment, or approved by the editorial team. An item without ``status:`` is the
#: team's own, hence approved: issues written before contributions behave as before.
STATUSES = ("submitted", "returned", "approved")
APPROVED = "approved"


@dataclass(frozen=True)
class CentreContact:
    """Someone at a centre who writes its news: the calls for contributions go to them."""

    name: str
    email: str
    lang: str = ""


@dataclass(frozen=True)
class Centre:
    """A labelled Cité des métiers, from the directory of centres."""

    slug: str
    name: str
    city: str = ""
    country: str = ""
    website: str = ""
    contacts: tuple[CentreContact, ...] = ()


@dataclass(frozen=True)
class Contact:
    """Who to write to about an item."""

    name: str
    email: str


@dataclass(frozen=True)
class Person:
    """A name with a role: signature of the edito, member of the editorial team."""

    name: str
    role: str = ""


@dataclass(frozen=True)
class Image:
    """An illustration: where it is (as written, and on disk when local) and its alt text."""

    src: str
    alt: str
    file: Path | None = None
    line: int = 1


@dataclass(frozen=True)
class DateSpan:
    """One day, or a range of days (``end`` is None for one day)."""

    start: dt.date
    end: dt.date | None = None

    @property
    def last(self) -> dt.date:
        """The last day the span covers."""
        return self.end or self.start


@dataclass(frozen=True)
class AgendaEntry:
    """A meeting in the agenda."""

    when: DateSpan
    title: str
    place: str = ""
    #: ``title`` and ``place`` in other languages (``title: {fr: …, en: …}``).
    texts: Translated = field(default_factory=dict)
    #: In an edition, the language its title is shown in ("" in the issue as written):
    #: a French title in the English edition is marked so for screen readers.
    lang: str = ""


@dataclass(frozen=True)
class ItemText:
    """A news item's texts in another language (``news/NAME.LANG.md``); the rest of the
    item (centre, section, contacts, image file, order) is the original's."""

    lang: str
    path: Path
    title: str
    body: str
    body_line: int = 1
    alt: str = ""
    #: The short hash of the original's texts this translation was made from ("" unknown).
    translated_from: str = ""
    #: Drafted by a machine and not yet reviewed by a person (``status: machine``).
    machine: bool = False


@dataclass(frozen=True)
class NewsItem:
    """One news item, written by a centre's contact or by the network."""

    path: Path
    section: str
    title: str
    body: str
    contacts: tuple[Contact, ...]
    lang: str
    centre: Centre | None = None
    image: Image | None = None
    order: int | None = None
    body_line: int = 1
    translations: Mapping[str, ItemText] = field(default_factory=dict)
    status: str = APPROVED
    submitted_by: str = ""
    #: What a digest shows of the item (``summary:``, in the item's own language);
    #: empty: its first paragraph.
    summary: str = ""

    @property
    def anchor(self) -> str:
        """A stable id for links to the item (its file name without extension)."""
        return "item-" + self.path.stem


@dataclass(frozen=True)
class Movement:
    """An arrival or a departure at a centre."""

    centre: Centre
    left: str = ""
    role: str = ""
    arrived: str = ""
    email: str = ""
    note: str = ""
    #: ``role`` and ``note`` in other languages.
    texts: Translated = field(default_factory=dict)


def default_preheader(news: tuple[NewsItem, ...]) -> str:
    """The preheader of an issue that gives none: its items' titles, as far as fits."""
    return "; ".join(i.title for i in news)[:140]


@dataclass(frozen=True)
class IssueText:
    """The issue's header texts and edito in another language (``issue.LANG.md``); an
    empty text is left to the fallback."""

    lang: str
    path: Path
    edito: str = ""
    body_line: int = 1
    texts: Mapping[str, str] = field(default_factory=dict)  # title, subject, closing…
    signature_role: str = ""
    team_roles: tuple[str, ...] = ()
    translated_from: str = ""
    machine: bool = False


@dataclass(frozen=True)
class Issue:
    """A whole issue of the InfoLettre, ready to render."""

    path: Path
    slug: str
    date: dt.date
    lang: str
    title: str
    subject: str
    preheader: str
    edito: str
    signature: Person | None = None
    number: int | None = None
    subscribe_url: str = ""
    contact_email: str = ""
    contact_text: str = ""
    closing: str = ""
    website: str = ""
    team: tuple[Person, ...] = ()
    internal: tuple[AgendaEntry, ...] = ()
    external: tuple[AgendaEntry, ...] = ()
    news: tuple[NewsItem, ...] = ()
    movements: tuple[Movement, ...] = ()
    centres: dict[str, Centre] = field(default_factory=dict)
    #: The languages ``editions:`` declares (empty: the configuration's, or ``lang``).
    editions: tuple[str, ...] = ()
    translations: Mapping[str, IssueText] = field(default_factory=dict)
    #: The language the issue was written in, when this is an edition in another one.
    source_lang: str = ""
    #: How the email shows the news: ``full`` (every item whole) or ``digest`` (each
    #: item's title and summary, with a link to it on the web edition).
    layout: str = "full"

    @property
    def original_lang(self) -> str:
        """The language the issue was written in (its ``lang`` unless an edition)."""
        return self.source_lang or self.lang

    def section(self, name: str) -> tuple[NewsItem, ...]:
        """The news items of one section, in publication order."""
        return tuple(item for item in self.news if item.section == name)
