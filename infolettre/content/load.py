"""Read an issue folder (or one file of it) into the content model.

The folder's layout is in ``layout``. Loading validates every field and
collects :class:`Problem` objects instead of stopping at the first one;
cross-file checks live in ``check``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import Problem, ProblemsFound
from ..messages import Number, Or, say
from ..words import closest, shown
from . import i18n, translations
from .fields import LANG_RE, Fields, quoted
from .layout import (
    AGENDA_FILE,
    CENTRES_FILE,
    ISSUE_FILE,
    MOVEMENTS_FILE,
    NEWS_DIR,
    find_centres_file,
    issue_slug,
    news_files,
)
from .markup import MAX_TEXT_CHARS, is_relative, strip_comments
from .model import (
    APPROVED,
    SECTIONS,
    STATUSES,
    AgendaEntry,
    Centre,
    CentreContact,
    Image,
    Issue,
    Movement,
    NewsItem,
    default_preheader,
)
from .source import Doc, read_front_matter, read_yaml

__all__ = [
    "ITEM_KEYS",
    "Loaded",
    "centre_hint",
    "is_slug",
    "issues_root",
    "load_centres",
    "load_issue",
    "load_item",
]

ITEM_KEYS = {"cdm", "section", "title", "contacts", "image", "order", "lang",
             "status", "submitted_by", "submitted_at", "review_comment", "summary"}
ISSUE_KEYS = {"number", "date", "lang", "title", "subject", "preheader", "signature",
              "subscribe_url", "contact", "closing", "team", "website", "editions",
              "layout"}
#: The layouts of the email an issue may choose (``layout:``), the default first.
LAYOUTS = ("full", "digest")
CENTRE_KEYS = {"name", "city", "country", "website", "contacts"}
AGENDA_KEYS = {"internal", "external"}
ENTRY_KEYS = {"date", "title", "place"}
MOVEMENT_KEYS = {"cdm", "left", "role", "arrived", "email", "note"}
_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]*")


def is_slug(text: str) -> bool:
    """True for a centre's slug: lower-case letters, digits and '-' (a file name too)."""
    return bool(_SLUG_RE.fullmatch(text))


@dataclass
class Loaded:
    """What loading produced: the issue when it could be built, and every problem."""

    issue: Issue | None
    problems: list[Problem] = field(default_factory=list)
    #: Every news item as far as it could be read, problems or not: ``check`` looks at
    #: their images too, so that a bad field never hides a missing photo.
    drafts: list[NewsItem] = field(default_factory=list)
    #: The directory of centres as far as it could be read (the review's overview).
    centres: dict[str, Centre] = field(default_factory=dict)


def _read(reader, path: Path, problems: list[Problem], within: Path | None = None
          ) -> Doc | None:
    """Read ``path`` with ``reader``; refuse a file that links outside ``within``."""
    if within is not None and not path.resolve().is_relative_to(within.resolve()):
        problems.append(Problem(path, 1, say("link-outside", target=path.resolve(),
                                             within=within)))
        return None
    try:
        return reader(path)
    except ProblemsFound as exc:
        problems.extend(exc.problems)
        return None


def issues_root(folder: Path) -> Path:
    """The folder no file of an issue may lie outside: that of the directory of centres."""
    centres = find_centres_file(folder)
    return centres.parent if centres is not None else folder


def load_centres(path: Path, problems: list[Problem]) -> dict[str, Centre]:
    """Read the directory of centres: ``slug: {name, city, country, website}``."""
    doc = _read(read_yaml, path, problems, path.parent)
    if doc is None:
        return {}
    if not isinstance(doc.data, dict):
        problems.append(doc.problem(say("centres-not-mapping")))
        return {}
    top = Fields(doc, problems)
    centres = {}
    for slug in doc.data:
        if not is_slug(slug):
            top.report(say("bad-slug", slug=shown(slug)), slug)
            continue
        entry = top.mapping(slug)
        if entry is None:
            top.report(say("centre-needs-name", slug=slug), slug)
            continue
        entry.known(CENTRE_KEYS)
        name = entry.text("name", required=True, example="Cité des métiers de …")
        contacts = []
        for person in entry.entries("contacts"):
            person.known({"name", "email", "lang"})
            who = person.text("name", required=True, example="Prénom NOM")
            email = person.email("email", required=True)
            lang = _lang(person, "")
            if who and email:
                contacts.append(CentreContact(who, email, lang))
        if name:
            centres[slug] = Centre(slug, name, entry.text("city") or "",
                                   entry.text("country") or "", entry.url("website") or "",
                                   tuple(contacts))
    return centres


def _centre(fields: Fields, key: str, centres: dict[str, Centre] | None,
            *, required: bool) -> Centre | None:
    slug = fields.text(key, required=required, example="charleroi")
    if slug is None or centres is None:
        return None
    if slug in centres:
        return centres[slug]
    fields.report(say("unknown-centre", slug=slug, hint=centre_hint(slug, centres)), key)
    return None


def centre_hint(slug: str, centres: dict[str, Centre] | set[str]) -> str:
    """What to write instead of an unknown centre: the closest slugs, or to add it."""
    near = closest(slug, set(centres))
    return say("part.did-you-mean", options=quoted(near)) if near else \
        say("part.add-centre", file=CENTRES_FILE)


def _lang(fields: Fields, default: str) -> str:
    lang = fields.text("lang")
    if lang is None:
        return default
    if not LANG_RE.fullmatch(lang):
        fields.report(say("bad-lang", lang=lang), "lang")
        return default
    return lang


def load_item(path: Path, centres: dict[str, Centre] | None, lang: str,
              problems: list[Problem], within: Path | None = None,
              drafts: list[NewsItem] | None = None) -> NewsItem | None:
    """Read one news item. ``centres`` is None when no directory could be found.

    The item is None when it has a problem; the item as far as it could be read is
    then added to ``drafts`` when given (always, in fact, once its header could be
    parsed), so that ``check`` can report its other problems in the same run.
    """
    doc = _read(read_front_matter, path, problems, within or issues_root(path.parent))
    if doc is None:
        return None
    before = len(problems)
    f = Fields(doc, problems)
    f.known(ITEM_KEYS)
    section = f.choice("section", SECTIONS, default="cdm")
    centre = _centre(f, "cdm", centres, required=section == "cdm")
    title = f.text("title", required=True, example="Le titre de la nouvelle")
    contacts = f.contacts()
    image = None
    if (img := f.mapping("image", shorthand="src")) is not None:
        img.known({"src", "alt"})
        src = img.text("src", required=True, example="photo.jpg")
        alt = img.text("alt")
        if alt is None:
            img.report(say("image-no-alt"))
        if src:  # without alt it is only a draft's: the alt's problem is reported
            local = (path.parent / src) if is_relative(src) else None
            image = Image(src, alt or "", local, doc.line("image", "src"))
    order = f.integer("order")
    item_lang = _lang(f, lang)
    status = f.choice("status", STATUSES, default=APPROVED) or APPROVED
    submitted_by = f.email("submitted_by") or ""
    f.text("submitted_at"), f.text("review_comment", multiline=True)  # checked, kept
    summary = f.text("summary", multiline=True) or ""
    if not strip_comments(doc.body).strip():
        problems.append(Problem(path, doc.body_line, say("item-no-text")))
    item = NewsItem(path=path, section=section or "cdm", title=title or "", body=doc.body,
                    contacts=tuple(contacts), lang=item_lang, centre=centre, image=image,
                    order=order, body_line=doc.body_line, status=status,
                    submitted_by=submitted_by, summary=summary)
    if drafts is not None:
        drafts.append(item)
    if len(problems) > before or title is None:
        return None
    return item if image is None or image.alt else replace(item, image=None)


def _texts(**by_field: dict[str, str]) -> dict[str, dict[str, str]]:
    """``{"en": {"title": …, "place": …}}`` from ``title={"en": …}, place={"en": …}``."""
    out: dict[str, dict[str, str]] = {}
    for name, texts in by_field.items():
        for lang, text in texts.items():
            out.setdefault(lang, {})[name] = text
    return out


def _load_agenda(path: Path, problems: list[Problem], within: Path, lang: str
                 ) -> tuple[list[AgendaEntry], list[AgendaEntry]]:
    doc = _read(read_yaml, path, problems, within) if path.is_file() else None
    if doc is None or doc.data is None:
        return [], []
    if not isinstance(doc.data, dict):
        problems.append(doc.problem(say("agenda-not-mapping")))
        return [], []
    top = Fields(doc, problems)
    top.known(AGENDA_KEYS)
    lists: dict[str, list[AgendaEntry]] = {"internal": [], "external": []}
    for kind, entries in lists.items():
        for entry in top.entries(kind):
            entry.known(ENTRY_KEYS)
            when = entry.span("date")
            title, titles = entry.localized("title", lang, required=True,
                                            example="Assemblée générale")
            place, places = entry.localized("place", lang, example="Paris")
            if when and title:
                entries.append(AgendaEntry(when, title, place or "",
                                           _texts(title=titles, place=places)))
        entries.sort(key=lambda e: (e.when.start, e.when.last))
    return lists["internal"], lists["external"]


def _load_movements(path: Path, centres: dict[str, Centre], problems: list[Problem],
                    within: Path, lang: str) -> list[Movement]:
    doc = _read(read_yaml, path, problems, within) if path.is_file() else None
    if doc is None or doc.data is None:
        return []
    out = []
    for entry in Fields(doc, problems).entries():
        entry.known(MOVEMENT_KEYS)
        centre = _centre(entry, "cdm", centres, required=True)
        left, arrived = entry.text("left"), entry.text("arrived")
        (role, roles), (note, notes) = (entry.localized("role", lang),
                                        entry.localized("note", lang))
        email = entry.email("email")
        if not left and not arrived:
            entry.report(say("movement-who"))
        elif centre is not None:
            out.append(Movement(centre, left or "", role or "", arrived or "", email or "",
                                note or "", _texts(role=roles, note=notes)))
    return out


def _markdown(fields: Fields, key: str) -> str:
    """A Markdown field of the header, within the length Markdown renders in good time."""
    text = fields.text(key, multiline=True) or ""
    if len(text) > MAX_TEXT_CHARS:
        fields.report(say("text-field-too-long", name=fields.name(key),
                          length=Number(len(text)), limit=Number(MAX_TEXT_CHARS)), key)
        return ""
    return text


def _editions(f: Fields) -> tuple[str, ...]:
    """``editions: [fr, en, es]``: languages that have a catalogue, each once."""
    value = f.raw("editions")
    if value is None:
        return ()
    if not isinstance(value, list):
        value = [value]
    out = []
    for i, lang in enumerate(value):
        if str(lang) not in i18n.languages():
            f.report(say("bad-edition", lang=shown(str(lang)), options=Or(i18n.languages())),
                     "editions", i)
        elif str(lang) not in out:
            out.append(str(lang))
    return tuple(out)


def _load_meta(doc: Doc, problems: list[Problem]) -> dict:
    f = Fields(doc, problems)
    f.known(ISSUE_KEYS)
    lang = f.text("lang") or "fr"
    if lang not in i18n.languages():
        f.report(say("no-catalogue", lang=lang, options=Or(i18n.languages())), "lang")
        lang = "fr"
    contact = f.mapping("contact")
    if contact:
        contact.known({"email", "text"})
    signature = f.mapping("signature")
    return {
        "number": f.integer("number"),
        "date": f.date("date", required=True),
        "lang": lang,
        "title": f.text("title") or "",
        "subject": f.text("subject") or "",
        "preheader": f.text("preheader") or "",
        "signature": signature.person() if signature else None,
        "subscribe_url": f.url("subscribe_url") or "",
        "contact_email": (contact.email("email", required=True) or "") if contact else "",
        "contact_text": (contact.text("text") or "") if contact else "",
        "closing": _markdown(f, "closing"),
        "website": f.url("website") or "",
        "team": tuple(p for e in f.entries("team") if (p := e.person())),
        "editions": _editions(f),
        "layout": f.choice("layout", LAYOUTS, default="full") or "full",
    }


def _sort_key(item: NewsItem) -> tuple:
    return (SECTIONS.index(item.section), item.order is None, item.order or 0,
            item.path.name)


def load_issue(folder: Path) -> Loaded:
    """Read a whole issue folder; the issue is None when a problem blocks building it."""
    problems: list[Problem] = []
    if not folder.is_dir():
        return Loaded(None, [Problem(folder, 1, say("not-issue-folder"))])
    meta_path = folder / ISSUE_FILE
    if not meta_path.is_file():
        return Loaded(None, [Problem(meta_path, 1, say("missing-issue-file", file=ISSUE_FILE))])
    centres_path = find_centres_file(folder)
    centres: dict[str, Centre] = {}
    if centres_path is None:
        problems.append(Problem(folder / CENTRES_FILE, 1,
                                say("no-centres-file", file=CENTRES_FILE)))
    else:
        centres = load_centres(centres_path, problems)
    root = centres_path.parent if centres_path is not None else folder
    meta_doc = _read(read_front_matter, meta_path, problems, root)
    meta = _load_meta(meta_doc, problems) if meta_doc else None
    if meta_doc is not None and len(meta_doc.body) > MAX_TEXT_CHARS:
        problems.append(Problem(meta_path, meta_doc.body_line, say(
            "edito-too-long", length=Number(len(meta_doc.body)), limit=Number(MAX_TEXT_CHARS))))
    if meta_doc is not None and not strip_comments(meta_doc.body).strip():
        problems.append(Problem(meta_path, meta_doc.body_line, say("edito-empty")))
    lang = meta["lang"] if meta else "fr"
    internal, external = _load_agenda(folder / AGENDA_FILE, problems, root, lang)
    movements = _load_movements(folder / MOVEMENTS_FILE, centres, problems, root, lang)
    news_dir = folder / NEWS_DIR
    drafts: list[NewsItem] = []
    items = [load_item(p, centres, lang, problems, root, drafts)
             for p in news_files(news_dir)[0]]  # what else is there: check.load_checked
    if meta_doc is None or meta is None or meta["date"] is None or problems:
        return Loaded(None, problems, drafts, centres)
    catalogue = i18n.catalogue(lang)
    news = tuple(sorted((i for i in items if i is not None), key=_sort_key))
    title = meta.pop("title") or catalogue.issue_title(meta["date"])
    preheader = meta.pop("preheader") or default_preheader(news)
    issue = Issue(path=folder, slug=issue_slug(folder), title=title,
                  subject=meta.pop("subject") or title, preheader=preheader,
                  edito=meta_doc.body, internal=tuple(internal), external=tuple(external),
                  news=news, movements=tuple(movements), centres=centres, **meta)
    issue = translations.attach(issue, problems)
    return Loaded(None if problems else issue, problems, drafts, centres)

