"""Read the translations that lie beside the originals: ``issue.LANG.md`` and
``news/NAME.LANG.md``.

A translation holds only what is said in words: an item's title, its image's alt text
and its text; the issue's header texts and its edito. Everything else (centre, section,
contacts, order, image file, dates) is the original's, and a translation that repeats
it is told to delete the line, so that the editions of one issue can never disagree on
a fact. Each translation may record the version of the original it was made from
(``translated_from:``, the :func:`source_hash` of the original's texts): when the
original changes afterwards, the translation is stale, and the report says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from ..errors import Problem, ProblemsFound
from ..messages import Or, say
from . import i18n
from .fields import Fields
from .layout import ISSUE_FILE, NEWS_DIR, issue_translations, translations_in
from .model import Issue, IssueText, ItemText, NewsItem
from .source import Doc, read_front_matter

__all__ = ["ISSUE_TEXT_KEYS", "attach", "issue_hash", "item_hash", "source_hash"]

#: The fields of ``issue.md``'s header an ``issue.LANG.md`` may translate.
ISSUE_TEXT_KEYS = ("title", "subject", "preheader", "closing")
_STATUS = ("machine",)
_ITEM_INHERITED = ("cdm", "section", "contacts", "order", "lang")
_ISSUE_INHERITED = ("number", "date", "lang", "subscribe_url", "website", "editions")


def source_hash(texts: Iterable[str]) -> str:
    """A short fingerprint of texts, spaces as they are typed ignored: what a
    translation records as ``translated_from`` and compares to see a change."""
    joined = "\x1f".join(" ".join(t.split()) for t in texts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:10]


def item_hash(item: NewsItem) -> str:
    """The fingerprint of what a translation of ``item`` translates."""
    return source_hash([item.title, item.image.alt if item.image else "", item.body])


def issue_hash(issue: Issue) -> str:
    """The fingerprint of the issue's translatable header texts and edito."""
    signature = issue.signature.role if issue.signature else ""
    return source_hash([*(getattr(issue, k) for k in ISSUE_TEXT_KEYS), issue.contact_text,
                        signature, *(p.role for p in issue.team), issue.edito])


def _read(path: Path, problems: list[Problem]) -> Doc | None:
    try:
        return read_front_matter(path)
    except ProblemsFound as exc:
        problems.extend(exc.problems)
        return None


def _common(f: Fields, original: Path, inherited: Iterable[str]) -> tuple[str, bool]:
    """``translated_from`` and ``status``, and a problem for each line copied from the
    original."""
    for key in inherited:
        if key in f.data:
            f.report(say("translation-inherits", key=key, original=original.name), key,
                     at_key=True)
    status = f.choice("status", _STATUS)
    return f.text("translated_from") or "", status == "machine"


def _item_text(path: Path, original: Path, lang: str, problems: list[Problem]
               ) -> ItemText | None:
    doc = _read(path, problems)
    if doc is None:
        return None
    before = len(problems)
    f = Fields(doc, problems)
    f.known({"title", "image", "translated_from", "status", *_ITEM_INHERITED})
    title = f.text("title", required=True, example="The item's title")
    alt = ""
    if (image := f.mapping("image", shorthand="alt")) is not None:
        image.known({"alt", "src"})
        if "src" in image.data:
            image.report(say("translation-inherits", key="image.src", original=original.name),
                         "src", at_key=True)
        alt = image.text("alt") or ""
    translated_from, machine = _common(f, original, _ITEM_INHERITED)
    if len(problems) > before or title is None:
        return None
    return ItemText(lang, path, title, doc.body, doc.body_line, alt, translated_from, machine)


def _issue_text(path: Path, lang: str, problems: list[Problem]) -> IssueText | None:
    doc = _read(path, problems)
    if doc is None:
        return None
    before = len(problems)
    f = Fields(doc, problems)
    f.known({*ISSUE_TEXT_KEYS, "contact", "signature", "team", "translated_from", "status",
             *_ISSUE_INHERITED})
    texts = {key: text for key in ISSUE_TEXT_KEYS
             if (text := f.text(key, multiline=key == "closing"))}
    if (contact := f.mapping("contact")) is not None:
        contact.known({"text"})
        if text := contact.text("text"):
            texts["contact_text"] = text
    role = ""
    if (signature := f.mapping("signature")) is not None:
        signature.known({"role"})
        role = signature.text("role") or ""
    roles = []
    for entry in f.entries("team"):
        entry.known({"role"})
        roles.append(entry.text("role") or "")
    translated_from, machine = _common(f, path.with_name(ISSUE_FILE), _ISSUE_INHERITED)
    if len(problems) > before:
        return None
    return IssueText(lang, path, doc.body, doc.body_line, texts, role, tuple(roles),
                     translated_from, machine)


def _language_ok(path: Path, lang: str, problems: list[Problem]) -> bool:
    if lang in i18n.languages():
        return True
    problems.append(Problem(path, 1, say("no-catalogue", lang=lang,
                                         options=Or(i18n.languages()))))
    return False


def attach(issue: Issue, problems: list[Problem]) -> Issue:
    """``issue`` with the translations found beside its files, each problem of theirs
    added to ``problems`` (a translation with a problem is left out)."""
    folder = issue.path
    texts = {}
    for lang, path in issue_translations(folder).items():
        if _language_ok(path, lang, problems) and \
                (text := _issue_text(path, lang, problems)) is not None:
            texts[lang] = text
    by_original: dict[Path, dict[str, ItemText]] = {}
    originals = {item.path.name.lower(): item.path for item in issue.news}  # FORUM.MD too
    for path, original, lang in translations_in(folder / NEWS_DIR):
        original = originals.get(original.name.lower(), original)
        if original.name.lower() not in originals:
            problems.append(Problem(path, 1, say("translation-without-original",
                                                 original=original.name, lang=lang)))
        elif _language_ok(path, lang, problems) and \
                (translated := _item_text(path, original, lang, problems)) is not None:
            by_original.setdefault(original, {})[lang] = translated
    news = tuple(replace(item, translations=by_original[item.path])
                 if item.path in by_original else item for item in issue.news)
    return replace(issue, translations=texts, news=news)
