"""A news item sent from the submission page: its file's text, and its problems by field.

The page's form is one more way to write the same file a contributor could write
by hand, so it is checked by the same code: the candidate text is written to a
temporary folder (with its image, if any) and read back with ``load_item`` and
``check_item``. The header is laid out one value per line in a fixed order, so
that each problem, located by line, is shown next to the form field it is about;
the body's problems go to the body field.

An accepted item is written by :func:`write_item`, the one writer of both doors
(the page, ``web.contribute``, and the replies by email, ``delivery.replies``), so
that their files are named and laid out alike: ``CENTRE-TITLESLUG.md`` (``-2``,
``-3``… when taken) with its image beside it under the same stem.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import yaml

from ..config import Config
from ..errors import Problem
from ..fsutil import atomic_write
from ..messages import said_in
from .check import check_item
from .i18n import languages
from .layout import NEWS_DIR
from .load import load_item
from .model import Centre
from .scaffold import title_slug
from .source import header_of

__all__ = ["FIELDS", "GENERAL", "REQUIRED", "Encoded", "Submission", "check_submission",
           "image_of", "item_text", "news_dir", "scratch_image", "write_item"]

#: The form's fields, in the order the page shows them (and its error summary).
FIELDS = ("section", "title", "body", "image", "image_alt", "contact_name",
          "contact_email", "lang")
#: Where a problem that concerns no field goes (shown in the summary only).
GENERAL = ""
#: The key given to every problem that only means "fill this in".
REQUIRED = "required"
#: The checks' messages that mean "fill this in": the page says so in its own words.
REQUIRED_KEYS = frozenset({"missing-key", "empty-value", "item-no-text", "missing-contacts"})


class Encoded(Protocol):
    """An untrusted image once re-encoded (``web.uploads.reencode``): its bytes and suffix."""

    @property
    def data(self) -> bytes: ...

    @property
    def suffix(self) -> str: ...


@dataclass(frozen=True)
class Submission:
    """What the form sent, with what the server adds (centre, sender, time)."""

    centre: str
    section: str
    title: str
    body: str
    contact_name: str
    contact_email: str
    lang: str
    submitted_by: str
    submitted_at: str
    image: str = ""  # the image's file name beside the item, "" for none
    image_alt: str = ""


def _value(key: str, value: str) -> str:
    """``key: "value"`` on one line whatever the value holds (YAML double-quoted)."""
    return yaml.safe_dump({key: value}, allow_unicode=True, default_style='"',
                          width=10**9).strip().replace(f'"{key}":', f"{key}:", 1)


def item_text(sub: Submission) -> tuple[str, dict[int, str]]:
    """The item file's text, and the form field of each header line (1-based)."""
    lines: list[tuple[str, str]] = [
        ("---", GENERAL),
        (_value("cdm", sub.centre), "section"),
        (_value("section", sub.section), "section"),
        (_value("title", sub.title), "title"),
        (_value("lang", sub.lang), "lang"),
        ("status: submitted", GENERAL),
        (_value("submitted_by", sub.submitted_by), GENERAL),
        (_value("submitted_at", sub.submitted_at), GENERAL),
        ("contacts:", "contact_name"),
        ("  - " + _value("name", sub.contact_name), "contact_name"),
        ("    " + _value("email", sub.contact_email), "contact_email"),
    ]
    if sub.image:
        lines.append(("image:", "image_alt" if not sub.image_alt.strip() else "image"))
        lines.append(("  " + _value("src", sub.image), "image"))
        if sub.image_alt.strip():
            lines.append(("  " + _value("alt", sub.image_alt), "image_alt"))
    lines.append(("---", GENERAL))
    body = sub.body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    text = "\n".join(line for line, _ in lines) + "\n" + (body + "\n" if body else "")
    return text, {n: name for n, (_, name) in enumerate(lines, start=1)}


def _said(problem: Problem, lang: str) -> tuple[str, str]:
    """The problem in ``lang``, and its message's key (``REQUIRED`` for those that only
    mean the field is empty, so that the page may say it in its own words)."""
    key = getattr(problem.message, "key", "")
    return said_in(problem.message, lang), REQUIRED if key in REQUIRED_KEYS else key


def check_submission(sub: Submission, centres: dict[str, Centre] | None, issue_lang: str,
                     config: Config, image: Path | None = None
                     ) -> dict[str, list[tuple[str, str]]]:
    """The problems of a submission by form field (``GENERAL`` for the others), each as
    (message in the submission's language, its key or ``REQUIRED``); empty when it is
    accepted.

    ``image`` is the (already re-encoded) file named ``sub.image``, copied beside the
    candidate so that the checks find it as they would in ``news/``.
    """
    text, fields = item_text(sub)
    found: dict[str, list[tuple[str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="infolettre-submission-") as tmp:
        folder = Path(tmp)
        path = folder / "item.md"
        path.write_text(text, encoding="utf-8")
        if image is not None and sub.image:
            shutil.copyfile(image, folder / sub.image)
        problems: list[Problem] = []
        drafts: list = []
        load_item(path, centres, issue_lang, problems, within=folder, drafts=drafts)
        for draft in drafts:
            problems.extend(check_item(draft, config, folder))
        body_line = len(fields) + 1
        lang = sub.lang if sub.lang in languages() else "fr"
        for problem in sorted(problems):
            field = "body" if problem.line >= body_line else fields.get(problem.line, GENERAL)
            said = _said(problem, lang)
            if said not in found.get(field, []):
                found.setdefault(field, []).append(said)
    if sub.image and not sub.image_alt.strip() and "image_alt" not in found:
        found["image_alt"] = [("", REQUIRED)]
    return found


def news_dir(config: Config, issue: str) -> Path | None:
    """``issues/ISSUE/news`` of an invitation's issue, when it is still a folder there;
    the issue's name is never a path (no ``..``, no separator, no hidden folder)."""
    issues = config.issues_dir.resolve()
    if not issue or issue.startswith(".") or Path(issue).name != issue:
        return None
    folder = (issues / issue).resolve()
    if folder.parent != issues or not folder.is_dir():
        return None
    return folder / NEWS_DIR


@contextmanager
def scratch_image(image: Encoded | None) -> Iterator[Path | None]:
    """A temporary file holding the re-encoded image for the checks, if any."""
    if image is None:
        yield None
        return
    with tempfile.NamedTemporaryFile(suffix="." + image.suffix) as tmp:
        tmp.write(image.data)
        tmp.flush()
        yield Path(tmp.name)


def image_of(path: Path) -> str:
    """The image file beside an item, as its header names it ("" for none or another's)."""
    data = header_of(path) or {}
    image = data.get("image")
    src = image.get("src") if isinstance(image, dict) else image
    if not isinstance(src, str) or Path(src).name != src or src.startswith("."):
        return ""
    return src if (path.parent / src).is_file() else ""


def write_item(news: Path, sub: Submission, image: Encoded | None,
               existing: str | None = None) -> str:
    """Write an accepted item in ``news`` with its image beside it; the file's name.

    A new item is named ``CENTRE-TITLESLUG.md`` (``-2``, ``-3``… when a file of that
    stem exists), claimed by a hard link that fails if another writer took the name
    meanwhile (the page and ``replies fetch`` are separate processes), before its
    image is written under the same stem. ``existing`` names the item an edit
    rewrites, atomically, image first; its former image is removed when the new one
    is of another kind. Without a new ``image``, ``sub.image`` (an image kept, or
    none) is written as it is.
    """
    if existing:
        stem = Path(existing).stem
        named = replace(sub, image=f"{stem}.{image.suffix}") if image is not None else sub
        before = image_of(news / existing)
        if image is not None:
            atomic_write(news / named.image, image.data)
        atomic_write(news / f"{stem}.md", item_text(named)[0])
        if before and before != named.image and before.startswith(f"{stem}."):
            (news / before).unlink(missing_ok=True)  # its own image, replaced by another kind
        return f"{stem}.md"
    news.mkdir(parents=True, exist_ok=True)
    slug = title_slug(sub.title)
    stem = f"{sub.centre}-{slug}" if slug else sub.centre
    n = 0
    while True:
        n += 1
        candidate = stem if n == 1 else f"{stem}-{n}"
        if candidate in {p.name.split(".", 1)[0] for p in news.iterdir()}:
            continue
        named = replace(sub, image=f"{candidate}.{image.suffix}") if image is not None else sub
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=news, prefix=".item-",
                                         suffix=".tmp", delete=False) as tmp:
            tmp.write(item_text(named)[0])
        try:
            (news / f"{candidate}.md").hardlink_to(tmp.name)
        except FileExistsError:
            continue
        finally:
            Path(tmp.name).unlink(missing_ok=True)
        if image is not None:
            try:
                atomic_write(news / named.image, image.data)
            except BaseException:
                (news / f"{candidate}.md").unlink(missing_ok=True)
                raise
        return f"{candidate}.md"
