"""A news item sent from the submission page: its file's text, and its problems by field.

The page's form is one more way to write the same file a contributor could write
by hand, so it is checked by the same code: the candidate text is written to a
temporary folder (with its image, if any) and read back with ``load_item`` and
``check_item``. The header is laid out one value per line in a fixed order, so
that each problem, located by line, is shown next to the form field it is about;
the body's problems go to the body field.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..config import Config
from ..errors import Problem
from ..messages import said_in
from .check import check_item
from .i18n import languages
from .load import load_item
from .model import Centre

__all__ = ["FIELDS", "GENERAL", "REQUIRED", "Submission", "check_submission", "item_text"]

#: The form's fields, in the order the page shows them (and its error summary).
FIELDS = ("section", "title", "body", "image", "image_alt", "contact_name",
          "contact_email", "lang")
#: Where a problem that concerns no field goes (shown in the summary only).
GENERAL = ""
#: The key given to every problem that only means "fill this in".
REQUIRED = "required"
#: The checks' messages that mean "fill this in": the page says so in its own words.
REQUIRED_KEYS = frozenset({"missing-key", "empty-value", "item-no-text", "missing-contacts"})


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
