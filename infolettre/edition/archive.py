"""The web archive: every published issue's web version, an index and an Atom feed.

``infolettre archive --out DIR`` writes it as static files for any web host;
``infolettre serve`` builds it at start and serves it beside its own pages.

An issue is published once it has been sent (its campaign has at least one row
``sent``), or when the editorial team publishes it explicitly (``infolettre
archive --publish ISSUE``, kept in the database's ``meta`` table); ``--unpublish``
withdraws it, sent or not. Issues not published are left out, and the web
version of an issue no longer published is removed from the output folder.
Issues that do not pass ``check`` are left out too, with the reason (a version
written by an earlier run, when it passed, stays).
"""

from __future__ import annotations

import datetime as dt
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..content.i18n import catalogue
from ..content.layout import issue_slug
from ..content.model import Issue
from ..content.scaffold import issue_folders
from ..errors import InfoLettreError, ProblemsFound
from ..store import Store
from ..theme import environment
from .build import WEB_CSS, WEB_HTML, build_edition, load_publishable, write_files

__all__ = ["Archive", "build_archive", "published_issues", "set_published"]

PUBLISHED, WITHDRAWN = "published", "withdrawn"

ATOM = "http://www.w3.org/2005/Atom"


@dataclass
class Archive:
    """What was published, newest first, and what was left out."""

    out: Path
    issues: list[Issue] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: Issue folders left out because they are neither sent nor published.
    unpublished: list[str] = field(default_factory=list)


def published_issues(store: Store) -> set[str]:
    """The issues the archive shows: sent to someone or published, and not withdrawn."""
    sent = store.sent_issues()
    marks = store.archive_marks()
    return {i for i in sent | set(marks) if marks.get(i, PUBLISHED) == PUBLISHED}


def set_published(store: Store, issue: str, published: bool) -> None:
    """Publish an issue explicitly, or withdraw it (even if it was sent)."""
    with store.transaction():
        store.set_archive_mark(issue, PUBLISHED if published else WITHDRAWN)


def _feed(issues: list[Issue], config: Config, title: str) -> str:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    base = config.base_url.rstrip("/") + "/"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = base
    ET.SubElement(feed, f"{{{ATOM}}}link", href=base)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=base + "feed.atom")
    newest = max((i.date for i in issues), default=dt.date(2000, 1, 1))
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = f"{newest.isoformat()}T00:00:00Z"
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = title
    for issue in issues:
        url = config.issue_url(issue.slug)
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = issue.title
        ET.SubElement(entry, f"{{{ATOM}}}id").text = url
        ET.SubElement(entry, f"{{{ATOM}}}link", href=url)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = f"{issue.date.isoformat()}T00:00:00Z"
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = issue.preheader
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")


def build_archive(config: Config, out: Path, published: Collection[str],
                  lang: str = "fr") -> Archive:
    """Write the web version of every issue in ``published``, ``index.html`` and ``feed.atom``.

    ``published`` is what ``published_issues`` returns; the web version of any
    other issue is removed from ``out`` if an earlier run wrote it there.
    """
    archive = Archive(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InfoLettreError(f"{out}: cannot create the folder: {exc.strerror or exc}"
                              ) from None
    stylesheet = ""
    for folder in issue_folders(config.issues_dir):
        slug = issue_slug(folder)
        if slug not in published:
            archive.unpublished.append(slug)
            stale = out / slug
            if (stale / WEB_HTML).is_file():
                shutil.rmtree(stale, ignore_errors=True)
            continue
        try:
            issue = load_publishable(folder, config)
        except ProblemsFound as exc:
            archive.skipped.append(f"{slug}: {len(exc.problems)} problems "
                                   f"(first: {exc.problems[0]})")
            continue
        edition = build_edition(issue, config)
        write_files(out / issue.slug, {WEB_HTML: edition.web, WEB_CSS: edition.stylesheet},
                    edition.assets)
        stylesheet = edition.stylesheet
        archive.issues.append(issue)
    archive.issues.sort(key=lambda i: (i.date, i.slug), reverse=True)
    t = catalogue(lang)
    page = environment(config.templates_dir).get_template("archive.html.j2").render(
        t=t, issues=archive.issues, base_url=config.base_url.rstrip("/"))
    write_files(out, {"index.html": page, WEB_CSS: stylesheet or "",
                      "feed.atom": _feed(archive.issues, config, t("archive_title"))}, ())
    return archive
