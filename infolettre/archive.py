"""The web archive: every publishable issue's web version, an index and an Atom feed.

``infolettre archive --out DIR`` writes it as static files for any web host;
``infolettre serve`` builds it at start and serves it beside its own pages.
Issues that do not pass ``check`` are left out, with the reason.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .build import WEB_CSS, WEB_HTML, build_edition, load_publishable, write_files
from .config import Config
from .errors import ProblemsFound
from .i18n import catalogue
from .model import Issue
from .render import template_environment
from .scaffold import issue_folders

__all__ = ["Archive", "build_archive"]

ATOM = "http://www.w3.org/2005/Atom"


@dataclass
class Archive:
    """What was published, newest first, and what was left out."""

    out: Path
    issues: list[Issue] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


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


def build_archive(config: Config, out: Path, lang: str = "fr") -> Archive:
    """Write every publishable issue's web version, ``index.html`` and ``feed.atom``."""
    archive = Archive(out)
    stylesheet = ""
    for folder in issue_folders(config.issues_dir):
        try:
            issue = load_publishable(folder, config)
        except ProblemsFound as exc:
            archive.skipped.append(f"{folder.name}: {len(exc.problems)} problems "
                                   f"(first: {exc.problems[0]})")
            continue
        edition = build_edition(issue, config)
        write_files(out / issue.slug, {WEB_HTML: edition.web, WEB_CSS: edition.stylesheet},
                    edition.assets)
        stylesheet = edition.stylesheet
        archive.issues.append(issue)
    archive.issues.sort(key=lambda i: (i.date, i.slug), reverse=True)
    t = catalogue(lang)
    page = template_environment(config.templates_dir).get_template("archive.html.j2").render(
        t=t, issues=archive.issues, base_url=config.base_url.rstrip("/"))
    write_files(out, {"index.html": page, WEB_CSS: stylesheet or "",
                      "feed.atom": _feed(archive.issues, config, t("archive_title"))}, ())
    return archive
