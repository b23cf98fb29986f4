"""The editorial team's review of contributed items: their status, and who sent what.

A contributed item carries ``status: submitted`` (as the submission page and the
email intake write it), ``returned`` once the team sent it back with a
``review_comment``, or ``approved``; an item without ``status`` is the team's own and
counts as approved. Only approved items are built and sent
(:func:`approved_only`); ``build --include-submitted`` and ``preview`` show the rest.

The status is changed by editing that one line of the item's header, so that the
rest of the file stays as its author wrote it; the result is parsed before it is
written, atomically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from ..config import Config
from ..errors import InfoLettreError, Problem, ProblemsFound
from ..fsutil import atomic_write
from ..messages import say
from ..store import Invitation
from .check import load_checked
from .layout import NEWS_DIR, is_item_file
from .model import APPROVED, STATUSES, Centre, Issue, NewsItem
from .source import read_front_matter, read_text

__all__ = ["CentreReview", "approved_only", "review", "review_issue", "set_status"]

_STATUS_RE = re.compile(r"^status:.*$", re.M)
_COMMENT_RE = re.compile(r"^review_comment:.*(\n[ \t]+.*)*$", re.M)


def approved_only(issue: Issue) -> Issue:
    """``issue`` with its approved items only: what is built and sent."""
    return replace(issue, news=tuple(i for i in issue.news if i.status == APPROVED))


def _line(key: str, value: str) -> str:
    return yaml.safe_dump({key: value}, allow_unicode=True, width=10**6).strip()


def set_status(path: Path, status: str, comment: str = "") -> None:
    """Set the ``status`` of the item at ``path`` (and its ``review_comment`` when it
    is returned; approving removes the comment)."""
    if status not in STATUSES:
        raise ValueError(status)
    if not (path.parent.name == NEWS_DIR and is_item_file(path)):
        raise InfoLettreError(say("not-an-item-file", file=path))
    text = read_text(path)
    if not text.startswith("---\n"):
        raise ProblemsFound([Problem(path, 1, say("no-front-matter"))])
    end = text.index("\n---", 3) if "\n---" in text[3:] else -1
    if end < 0:
        raise ProblemsFound([Problem(path, 1, say("unclosed-header"))])
    header, rest = text[4:end + 1], text[end + 1:]
    header = _COMMENT_RE.sub("", header).replace("\n\n", "\n")
    line = _line("status", status)
    header = _STATUS_RE.sub(line, header, count=1) if _STATUS_RE.search(header) \
        else header + line + "\n"
    if comment:
        header += _line("review_comment", comment) + "\n"
    new = "---\n" + header + rest
    candidate = path.with_name(f".{path.name}.review")
    try:
        candidate.write_text(new, encoding="utf-8")
        read_front_matter(candidate)  # parses as it did: nothing else changed
    finally:
        candidate.unlink(missing_ok=True)
    atomic_write(path, new)


@dataclass
class CentreReview:
    """One centre's part of an issue: who was asked, what came, what is wrong with it."""

    centre: Centre
    invitations: list[Invitation] = field(default_factory=list)
    items: list[NewsItem] = field(default_factory=list)
    problems: dict[Path, list[Problem]] = field(default_factory=dict)

    @property
    def nothing_yet(self) -> bool:
        """Whether the centre has sent nothing for this issue."""
        return not self.items


def review_issue(folder: Path, config: Config, invitations: list[Invitation]
                 ) -> list[CentreReview]:
    """The review of the issue in ``folder`` (``infolettre contributions`` and the
    editorial page): loaded and checked once, its directory of centres with it."""
    loaded = load_checked(folder, config)
    return review(loaded.centres, loaded.drafts, loaded.problems, invitations)


def review(centres: dict[str, Centre], items: list[NewsItem], problems: list[Problem],
           invitations: list[Invitation]) -> list[CentreReview]:
    """Per centre of the directory: its invitations, its items (as far as they could
    be read) and each one's problems; the centres that sent nothing last."""
    out = {slug: CentreReview(centre) for slug, centre in centres.items()}
    for invitation in invitations:
        if invitation.centre in out:
            out[invitation.centre].invitations.append(invitation)
    by_path: dict[Path, list[Problem]] = {}
    for problem in problems:
        by_path.setdefault(problem.path, []).append(problem)
    for item in items:
        if item.centre is not None and item.centre.slug in out:
            entry = out[item.centre.slug]
            entry.items.append(item)
            if item.path in by_path:
                entry.problems[item.path] = by_path[item.path]
    return sorted(out.values(), key=lambda r: (r.nothing_yet, r.centre.slug))
