"""One issue, an edition per language: which editions, what each shows, what is left
to translate.

An issue is written in its ``lang`` (the source language). Its editions are those
``issue.md`` declares (``editions: [fr, en, es]``), else the configuration's
``languages``, else the source language alone, so that an untranslated issue is one
edition, as before. In the edition of language L each text is taken from the first
language of L's chain that has it: L itself, then the configuration's ``[fallback]``
for L, then the source language, which has every text. An item shown in another
language than its edition's keeps that language (``NewsItem.lang``), so that the
templates mark it (``lang="fr"`` and "This item is in French.").

:func:`localize` gives the edition as an ordinary :class:`Issue` in language L, which
the renderer renders as it renders any issue; :func:`report` lists, per edition, every
text not translated and every translation made from an earlier version of its original.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import Config
from ..errors import Problem
from ..messages import LanguageName, say
from .i18n import catalogue
from .layout import ISSUE_FILE
from .markup import strip_comments
from .model import (
    AgendaEntry,
    Image,
    Issue,
    IssueText,
    ItemText,
    Movement,
    NewsItem,
    Translated,
    default_preheader,
)
from .translations import ISSUE_TEXT_KEYS, issue_hash, item_hash

__all__ = ["Missing", "Stale", "TranslationReport", "chain", "editions", "fallback_chain",
           "localize",
           "report", "translation_warnings"]


def editions(issue: Issue, config: Config) -> tuple[str, ...]:
    """The languages of the issue's editions, the source language first when it is one."""
    langs = issue.editions or config.languages or (issue.original_lang,)
    return tuple(sorted(dict.fromkeys(langs), key=lambda lang: lang != issue.original_lang))


def chain(lang: str, issue: Issue, config: Config) -> tuple[str, ...]:
    """The languages the edition in ``lang`` takes a text from, in order."""
    return fallback_chain(lang, issue.original_lang, config)


def fallback_chain(lang: str, source: str, config: Config) -> tuple[str, ...]:
    """``lang``, then its ``[fallback]`` languages, then ``source``: the order an edition
    takes its texts in, and sending picks a reader's edition in."""
    return tuple(dict.fromkeys((lang, *config.fallback.get(lang, ()), source)))


def _chosen(langs: tuple[str, ...], source: str, original: str, texts: Translated,
            name: str) -> tuple[str, str]:
    """The text of ``name`` in the first language of ``langs`` that has it, and that
    language."""
    for lang in langs:
        if lang == source:
            return original, source
        if texts.get(lang, {}).get(name):
            return texts[lang][name], lang
    return original, source


def _text(langs: tuple[str, ...], source: str, original: str, texts: Translated,
          name: str) -> str:
    """The text of ``name`` in the first language of ``langs`` that has it."""
    return _chosen(langs, source, original, texts, name)[0]


def _item(item: NewsItem, langs: tuple[str, ...]) -> NewsItem:
    """The item in the first language of ``langs`` it exists in (its own, at the latest)."""
    for lang in langs:
        if lang == item.lang:
            break
        if (chosen := item.translations.get(lang)) is not None:
            image = item.image
            if image is not None and chosen.alt:
                image = Image(image.src, chosen.alt, image.file, image.line)
            return replace(item, title=chosen.title, body=chosen.body,
                           body_line=chosen.body_line, image=image, lang=lang)
    return item


def _head(issue: Issue, langs: tuple[str, ...]) -> IssueText | None:
    """The translation of the issue's header and edito the edition takes, if any."""
    for lang in langs:
        if lang == issue.original_lang:
            return None
        if lang in issue.translations:
            return issue.translations[lang]
    return None


def localize(issue: Issue, lang: str, config: Config) -> Issue:
    """The edition of ``issue`` in ``lang``: each text in the first language of its
    chain that has it, every fixed string in ``lang``."""
    source = issue.original_lang
    if lang == source:
        return issue
    langs = chain(lang, issue, config)
    news = tuple(_item(i, langs) for i in issue.news)
    head = _head(issue, langs)
    texts = dict(head.texts) if head else {}
    title = texts.get("title") or (issue.title if _declared_title(issue)
                                   else catalogue(lang).issue_title(issue.date))
    subject = texts.get("subject") or (issue.subject if issue.subject != issue.title
                                       else title)
    preheader = texts.get("preheader") or (
        issue.preheader if issue.preheader != default_preheader(issue.news)
        else default_preheader(news))
    signature, team = issue.signature, issue.team
    if head is not None and head.signature_role and signature is not None:
        signature = replace(signature, role=head.signature_role)
    if head is not None and head.team_roles:
        roles = (*head.team_roles, *[""] * len(team))
        team = tuple(replace(p, role=r or p.role) for p, r in zip(team, roles, strict=False))

    def entry(e: AgendaEntry) -> AgendaEntry:
        title, shown_in = _chosen(langs, source, e.title, e.texts, "title")
        return replace(e, title=title, lang=shown_in,
                       place=_text(langs, source, e.place, e.texts, "place"))

    def movement(m: Movement) -> Movement:
        return replace(m, role=_text(langs, source, m.role, m.texts, "role"),
                       note=_text(langs, source, m.note, m.texts, "note"))

    return replace(
        issue, lang=lang, source_lang=source, title=title, subject=subject,
        preheader=preheader, edito=head.edito if head and head.edito.strip() else issue.edito,
        closing=texts.get("closing") or issue.closing,
        contact_text=texts.get("contact_text") or issue.contact_text,
        signature=signature, team=team, news=news,
        internal=tuple(map(entry, issue.internal)), external=tuple(map(entry, issue.external)),
        movements=tuple(map(movement, issue.movements)))


def _declared_title(issue: Issue) -> bool:
    """Whether the issue's title was written (not the catalogue's "InfoLettre — mois")."""
    return issue.title != catalogue(issue.original_lang).issue_title(issue.date)


@dataclass(frozen=True)
class Missing:
    """A text an edition shows in another language."""

    lang: str
    path: Path
    line: int
    what: str  # "the edito", "'subject'", "charleroi-album.md", "'Assemblée générale'"
    shown_in: str
    translation: Path | None = None  # the file to write, when it is one


@dataclass(frozen=True)
class Stale:
    """A translation made from another version of its original (or from one unknown)."""

    lang: str
    path: Path
    now: str
    recorded: str


@dataclass
class TranslationReport:
    """Per edition: how many texts it has in its own language, and what it lacks."""

    total: dict[str, int] = field(default_factory=dict)
    translated: dict[str, int] = field(default_factory=dict)
    missing: list[Missing] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)
    machine: list[Path] = field(default_factory=list)

    def percent(self, lang: str) -> int:
        """The share of the edition's texts written in its own language (floor)."""
        total = self.total.get(lang, 0)
        return 100 if not total else self.translated.get(lang, 0) * 100 // total


def _units(issue: Issue) -> list[tuple[Path, str, frozenset[str], Path | None]]:
    """Every translatable text: (file, what, the languages it exists in besides the
    source, the translation file that would hold it, ``{lang}`` left to fill)."""
    meta = issue.path / ISSUE_FILE
    head = issue.translations
    issue_file = meta.with_name("issue.{lang}.md")
    out: list[tuple[Path, str, frozenset[str], Path | None]] = [(meta, say("part.the-edito"),
            frozenset(lang for lang, t in head.items() if t.edito.strip()), issue_file)]
    written = {"title": _declared_title(issue),
               "subject": issue.subject != issue.title,
               "preheader": issue.preheader != default_preheader(issue.news),
               "closing": bool(issue.closing)}
    for key in ISSUE_TEXT_KEYS:
        if written[key]:
            out.append((meta, f"'{key}'",
                        frozenset(lang for lang, t in head.items() if key in t.texts),
                        issue_file))
    for item in issue.news:
        # A file new-translation wrote holds a copy of the original until someone
        # translates it: that is not a translation yet.
        done = frozenset(lang for lang, t in item.translations.items()
                         if not _still_the_original(item, t))
        out.append((item.path, f"'{item.title}'", done,
                    item.path.with_name(item.path.stem + ".{lang}.md")))
    for entry in (*issue.internal, *issue.external):
        out.append((issue.path / "agenda.yaml", f"'{entry.title}'",
                    frozenset(lang for lang, t in entry.texts.items() if "title" in t), None))
    for m in issue.movements:
        if m.role:
            out.append((issue.path / "movements.yaml", f"'{m.role}'",
                        frozenset(lang for lang, t in m.texts.items() if "role" in t), None))
    return out


def _still_the_original(item: NewsItem, translated: ItemText) -> bool:
    """Whether a translation's title and text are still the original's, word for word
    (the HTML comments new-translation puts in are not text)."""
    return (" ".join(translated.title.split()) == " ".join(item.title.split())
            and " ".join(strip_comments(translated.body).split())
            == " ".join(strip_comments(item.body).split()))


def report(issue: Issue, config: Config) -> TranslationReport:
    """What each edition of ``issue`` lacks, and which translations are out of date."""
    out = TranslationReport()
    source = issue.original_lang
    units = _units(issue)
    for lang in editions(issue, config):
        out.total[lang] = len(units)
        langs = chain(lang, issue, config)
        out.translated[lang] = sum(1 for _, _, there, _ in units
                                   if lang == source or lang in there)
        if lang == source:
            continue
        for path, what, there, template in units:
            if lang not in there:
                shown = next(x for x in langs if x in there or x == source)
                file = Path(str(template).format(lang=lang)) if template else None
                out.missing.append(Missing(lang, path, 1, what, shown, file))
    translated: list[tuple[str, Path, str, str, bool]] = [
        (lang, t.path, issue_hash(issue), t.translated_from, t.machine)
        for lang, t in issue.translations.items()]
    for item in issue.news:
        now = item_hash(item)
        translated += [(lang, t.path, now, t.translated_from, t.machine)
                       for lang, t in item.translations.items()]
    for lang, path, now, recorded, machine in translated:
        if recorded != now:
            out.stale.append(Stale(lang, path, now, recorded))
        if machine:
            out.machine.append(path)
    return out


def translation_warnings(issue: Issue, config: Config) -> list[Problem]:
    """The report as ``check`` prints it: a warning on each file concerned."""
    found = report(issue, config)
    warnings = []
    empty = {lang for lang, n in found.translated.items() if n == 0}
    for lang in sorted(empty):  # one line for an edition nobody has started, not fifty
        shown = chain(lang, issue, config)[1]
        warnings.append(Problem(issue.path / ISSUE_FILE, 1, say(
            "edition-untranslated", language=LanguageName(lang), shown=LanguageName(shown),
            issue=issue.slug)))
    for m in (m for m in found.missing if m.lang not in empty):
        hint = say("part.write-translation", file=m.translation.name) if m.translation else ""
        warnings.append(Problem(m.path, m.line, say(
            "untranslated", what=m.what, language=LanguageName(m.lang),
            shown=LanguageName(m.shown_in), hint=hint)))
    for s in found.stale:
        key = "stale-translation" if s.recorded else "unknown-source-version"
        warnings.append(Problem(s.path, 1, say(key, file=s.path.name, now=s.now)))
    warnings.extend(Problem(p, 1, say("machine-draft", file=p.name)) for p in found.machine)
    langs = set(editions(issue, config))
    for lang, text in issue.translations.items():
        if lang not in langs:
            warnings.append(Problem(text.path, 1, say("not-an-edition", lang=lang)))
    for item in issue.news:
        for lang, translated in item.translations.items():
            if lang not in langs:
                warnings.append(Problem(translated.path, 1, say("not-an-edition", lang=lang)))
    return sorted(warnings)
