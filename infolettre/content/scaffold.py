"""Start an issue, or a contributor's news item, from files that ``check`` accepts.

``new_issue`` carries over from the latest issue what stays the same from one
issue to the next (signature, team, contact, links) and the agenda entries still
to come; ``new_item`` writes a commented template, in the issue's language,
whose empty fields ``check`` reports until the contributor fills them in.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from ..errors import InfoLettreError, ProblemsFound, display_path
from ..fsutil import atomic_write
from ..messages import LanguageName, Or, say
from ..theme import environment
from ..words import shown, without_accents
from .i18n import catalogue, languages
from .layout import (
    AGENDA_FILE,
    CENTRES_FILE,
    ISSUE_FILE,
    MOVEMENTS_FILE,
    NEWS_DIR,
    find_centres_file,
    issue_folder_of,
)
from .load import (
    centre_hint,
    is_slug,
    load_centres,
    load_issue,
)
from .machine import LibreTranslate
from .model import AgendaEntry, Issue
from .source import read_front_matter
from .translations import ISSUE_TEXT_KEYS, issue_hash, item_hash

__all__ = ["issue_folders", "latest_issue", "new_issue", "new_item", "new_translation",
           "title_slug"]

#: Header keys an issue inherits from the one before it.
CARRIED_KEYS = ("lang", "signature", "subscribe_url", "contact", "closing", "team", "website")


def issue_folders(issues_dir: Path) -> list[Path]:
    if not issues_dir.is_dir():
        return []
    return sorted(p for p in issues_dir.iterdir() if (p / ISSUE_FILE).is_file())


def latest_issue(issues_dir: Path) -> Path | None:
    """The issue folder with the latest date (folder names break ties)."""
    dated = []
    for folder in issue_folders(issues_dir):
        try:
            date = read_front_matter(folder / ISSUE_FILE).data.get("date")
        except ProblemsFound:
            continue
        if isinstance(date, dt.date):
            dated.append((date, folder.name, folder))
    return max(dated)[2] if dated else None


def _entry(entry: AgendaEntry, lang: str) -> dict:
    """An agenda entry as the file writes it, its translations carried along."""
    date: object = entry.when.start if entry.when.end is None else \
        {"start": entry.when.start, "end": entry.when.end}

    def text(name: str) -> object:
        others = {other: t[name] for other, t in entry.texts.items() if name in t}
        return {lang: getattr(entry, name), **others} if others else getattr(entry, name)

    out = {"date": date, "title": text("title")}
    if entry.place:
        out["place"] = text("place")
    return out


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, the way a person writes them."""


_Dumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


def _dump(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=88)


_AGENDA_HEAD = ("# Agenda. Each entry: date (YYYY-MM-DD, or {start: …, end: …} for several\n"
                "# days), title, place.\n")
_MOVEMENTS_HEAD = ("# Arrivals and departures. Each entry: cdm (slug from cdms.yaml), left,\n"
                   "# role, arrived, email, note. Example:\n# - cdm: charleroi\n"
                   "#   left: Prénom NOM\n#   role: Directrice\n#   arrived: Prénom NOM\n"
                   "#   email: prenom.nom@example.org\n")


def new_issue(issues_dir: Path, date: dt.date) -> Path:
    """Create ``issues_dir/YYYY-MM`` for an issue published on ``date``."""
    folder = issues_dir / date.strftime("%Y-%m")
    if folder.exists():
        raise InfoLettreError(f"{folder} already exists: pass --date for another month")
    previous_dir = latest_issue(issues_dir)
    header: dict = {"date": date}
    upcoming: list[AgendaEntry] = []
    internal: list[AgendaEntry] = []
    lang = "fr"
    if previous_dir is not None:
        previous = read_front_matter(previous_dir / ISSUE_FILE).data
        header.update({k: previous[k] for k in CARRIED_KEYS if k in previous})
        loaded = load_issue(previous_dir)
        issue: Issue | None = loaded.issue
        if issue is None:
            raise InfoLettreError(f"{previous_dir}: the previous issue has problems "
                                  f"(run `infolettre check {previous_dir}`); fix them first")
        internal = [e for e in issue.internal if e.when.last > date]
        upcoming = [e for e in issue.external if e.when.last > date]
        lang = issue.lang
    agenda = {k: [_entry(e, lang) for e in v] for k, v in
              (("internal", internal), ("external", upcoming)) if v}
    atomic_write(folder / ISSUE_FILE, "---\n" + _dump(header) + "---\n")
    atomic_write(folder / AGENDA_FILE, _AGENDA_HEAD + (_dump(agenda) if agenda else ""))
    atomic_write(folder / MOVEMENTS_FILE, _MOVEMENTS_HEAD)
    (folder / NEWS_DIR).mkdir()
    return folder


#: Longest slug taken from a title: a file name that stays readable in a listing.
TITLE_SLUG_MAX = 40


def title_slug(title: str, limit: int = TITLE_SLUG_MAX) -> str:
    """``Forum des métiers`` → ``forum-des-metiers``: ASCII, accents folded, at most
    ``limit`` characters, cut at a word's end when there is one; "" when nothing is left
    (a title in another script), so that the file is named from the centre alone."""
    folded = without_accents(title)
    folded = folded.replace("’", "-").replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.encode("ascii", "ignore").decode()).strip("-")
    if len(slug) > limit:
        end = slug.rfind("-", 0, limit + 1)  # the last word that fits whole…
        slug = slug[:end] if end >= limit // 2 else slug[:limit]  # …unless too few do
    return slug.strip("-")


def _title_line(title: str | None) -> str:
    """The header's title line, quoted as YAML needs (``Bilan : une réussite``)."""
    if not title:
        return "title:"
    line = yaml.dump({"title": title}, Dumper=_Dumper, allow_unicode=True,
                     width=10**6)
    return line.strip()


def new_item(issue_dir: Path, cdm: str | None, section: str = "cdm",
             templates_dir: Path | None = None, title: str | None = None) -> Path:
    """Write ``news/SLUG.md`` (or SLUG-2.md…), a template for one news item.

    With a ``title`` the file is named from the centre (or section) and the title,
    ``marseille-forum-des-metiers.md``, and the title is written in the header.
    """
    title = " ".join(title.split()) if title else None  # one line, as a header needs
    if not (issue_dir / ISSUE_FILE).is_file():
        raise InfoLettreError(say("not-an-issue", folder=issue_dir, file=ISSUE_FILE))
    if section == "cdm" and not cdm:
        raise InfoLettreError(say("needs-cdm"))
    if cdm is not None and not is_slug(cdm):
        raise InfoLettreError(say("not-a-slug", cdm=shown(cdm), file=CENTRES_FILE))
    centres_file = find_centres_file(issue_dir)
    problems: list = []
    centres = load_centres(centres_file, problems) if centres_file else {}
    name = ""
    if cdm:
        if cdm not in centres:
            raise InfoLettreError(say("unknown-centre", slug=cdm,
                                      hint=centre_hint(cdm, centres)))
        name = centres[cdm].name
    try:
        lang = read_front_matter(issue_dir / ISSUE_FILE).data.get("lang") or "fr"
        t = catalogue(lang)
    except (ProblemsFound, KeyError, AttributeError):
        t = catalogue("fr")
    stem = "-".join(p for p in (cdm or section, title_slug(title or "")) if p)
    path = issue_dir / NEWS_DIR / f"{stem}.md"
    n = 2
    while path.exists():
        path, n = issue_dir / NEWS_DIR / f"{stem}-{n}.md", n + 1
    text = environment(templates_dir).get_template("new-item.md.j2").render(
        t=t, cdm=cdm, section=section, centre_name=name or t("section_reseau"), path=path,
        title_line=_title_line(title))
    atomic_write(path, text)
    return path


def _comment(text: str) -> str:
    return "\n".join(f"# {line}".rstrip() for line in text.splitlines())


def _machine(fields: dict, body: str, translator: LibreTranslate, source: str,
             target: str) -> tuple[dict, str]:
    """``fields`` and ``body`` drafted in ``target``: every text value, and the body
    paragraph by paragraph so that its Markdown structure (lists, headings) stays."""
    texts: list[str] = []

    def collect(value: object) -> object:
        if isinstance(value, dict):
            return {k: collect(v) for k, v in value.items()}
        if isinstance(value, list):
            return [collect(v) for v in value]
        texts.append(str(value))
        return len(texts) - 1

    shape = collect(fields)
    paragraphs = body.split("\n\n")
    done = translator.translate([*texts, *paragraphs], source, target)

    def fill(value: object) -> object:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        assert isinstance(value, int)
        return done[value]

    return fill(shape), "\n\n".join(done[len(texts):])  # type: ignore[return-value]


def new_translation(path: Path, lang: str, translator: LibreTranslate | None = None) -> Path:
    """Write ``NAME.LANG.md`` beside ``path`` (a news item or ``issue.md``): the texts to
    translate, each under its original in a comment, and the ``translated_from`` of the
    original as it is now. Refuses to overwrite a translation that exists.

    With a ``translator``, the texts are a machine's draft, marked ``status: machine``
    until a person has reviewed them."""
    issue_dir = issue_folder_of(path)
    if lang not in languages():
        raise InfoLettreError(say("bad-edition", lang=shown(lang), options=Or(languages())))
    target = path.with_name(f"{path.stem}.{lang}.md")
    if target.exists():
        raise InfoLettreError(say("translation-exists", file=display_path(target)))
    loaded = load_issue(issue_dir)
    if loaded.issue is None:
        raise ProblemsFound(loaded.problems)
    issue = loaded.issue
    if lang == issue.lang:
        raise InfoLettreError(say("translation-of-source", lang=lang))
    lines = ["---", _comment(say("part.translation-head", original=path.name,
                                 language=LanguageName(lang)).said_in(lang))]
    if path.name == ISSUE_FILE:
        fields = {k: getattr(issue, k) for k in ISSUE_TEXT_KEYS if getattr(issue, k)}
        if issue.contact_text:
            fields["contact"] = {"text": issue.contact_text}
        if issue.signature and issue.signature.role:
            fields["signature"] = {"role": issue.signature.role}
        if issue.team:
            fields["team"] = [{"role": p.role} for p in issue.team]
        body, stamp = issue.edito, issue_hash(issue)
    else:
        item = next((i for i in issue.news if i.path.resolve() == path.resolve()), None)
        if item is None:
            raise InfoLettreError(say("not-an-item-file", file=display_path(path)))
        fields = {"title": item.title}
        if item.image and item.image.alt:
            fields["image"] = {"alt": item.image.alt}
        body, stamp = item.body, item_hash(item)
    original = _dump(fields).rstrip("\n")
    draft = body
    if translator is not None:
        fields, draft = _machine(fields, body.rstrip(), translator, issue.lang, lang)
    lines += [_comment(original), _dump(fields).rstrip("\n"), f"translated_from: {stamp}",
              *(["status: machine"] if translator is not None else []), "---",
              f"<!-- {say('part.translation-body', lang=issue.lang).said_in(lang)}",
              body.rstrip().replace("-->", "--&gt;"), "-->", "", draft.rstrip(), ""]
    atomic_write(target, "\n".join(lines))
    return target
