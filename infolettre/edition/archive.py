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

An issue of several editions is published at ``BASE_URL/LANG/ISSUE/`` for each,
with an index and a feed per language (``BASE_URL/LANG/``); ``BASE_URL/ISSUE/``
sends to the source language's edition, so that links already sent keep working.

Each edition's PDF (``pdf.pdf_name``) is written beside its page when WeasyPrint is
installed, and only again when the page changed; the indexes link it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..content.editions import localize
from ..content.i18n import catalogue, languages
from ..content.layout import issue_slug
from ..content.model import Issue
from ..content.scaffold import issue_folders
from ..errors import InfoLettreError, ProblemsFound
from ..store import Store
from ..theme import environment
from . import pdf
from .build import WEB_CSS, WEB_HTML, build_editions, load_publishable, write_files
from .ready import ReadyEdition

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
    #: For an issue of several editions, the address ``BASE_URL/ISSUE/`` sends to:
    #: its source language's edition.
    redirects: dict[str, str] = field(default_factory=dict)
    #: Per language, every edition in it (the edition, its address), in issue order.
    editions: dict[str, list[tuple[Issue, str]]] = field(default_factory=dict)
    #: Per issue, the PDF of each of its editions by language, source first.
    pdfs: dict[str, dict[str, Path]] = field(default_factory=dict)
    #: Why PDFs that were needed could not be written (WeasyPrint missing), or "".
    pdf_missing: str = ""


def published_issues(store: Store) -> set[str]:
    """The issues the archive shows: sent to someone or published, and not withdrawn."""
    sent = store.sent_issues()
    marks = store.archive_marks()
    return {i for i in sent | set(marks) if marks.get(i, PUBLISHED) == PUBLISHED}


def set_published(store: Store, issue: str, published: bool) -> None:
    """Publish an issue explicitly, or withdraw it (even if it was sent)."""
    with store.transaction():
        store.set_archive_mark(issue, PUBLISHED if published else WITHDRAWN)


def _feed(entries: list[tuple[Issue, str]], base: str, title: str) -> str:
    """The Atom feed of ``entries`` (an issue and its address), published at ``base``."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = base
    ET.SubElement(feed, f"{{{ATOM}}}link", href=base)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=base + "feed.atom")
    newest = max((i.date for i, _ in entries), default=dt.date(2000, 1, 1))
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = f"{newest.isoformat()}T00:00:00Z"
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = title
    for issue, url in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = issue.title
        ET.SubElement(entry, f"{{{ATOM}}}id").text = url
        ET.SubElement(entry, f"{{{ATOM}}}link", href=url)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = f"{issue.date.isoformat()}T00:00:00Z"
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = issue.preheader
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")


def _remove(folder: Path) -> None:
    """Remove a web version an earlier run wrote (a folder holding ``index.html``)."""
    if (folder / WEB_HTML).is_file():
        shutil.rmtree(folder, ignore_errors=True)


def _remove_editions(out: Path, slug: str, keep: Collection[str] = ()) -> None:
    """Remove the editions of ``slug`` an earlier run wrote in ``out/LANG/``, but ``keep``."""
    for lang in languages():
        if lang not in keep:
            _remove(out / lang / slug)


def _write_page(archive: Archive, folder: Path, edition: ReadyEdition, slug: str,
                config: Config, with_pdf: bool) -> None:
    """Write an edition's page and stylesheet into ``folder``, and its PDF beside them
    (its images are in ``out/ISSUE/``): made again only when the page changed, since
    the service rebuilds the archive whenever any issue changes."""
    target = folder / pdf.pdf_name(slug, edition.lang)
    same = target.is_file() and all(
        (folder / name).is_file() and (folder / name).read_text(encoding="utf-8") == text
        for name, text in ((WEB_HTML, edition.web), (WEB_CSS, edition.stylesheet)))
    write_files(folder, {WEB_HTML: edition.web, WEB_CSS: edition.stylesheet}, ())
    if not with_pdf:
        target.unlink(missing_ok=True)
        return
    if not same:
        target.unlink(missing_ok=True)  # never a PDF of what the page no longer says
        missing = pdf.available()
        if missing:
            archive.pdf_missing = missing
            return
        pdf.write_pdf(edition.web, target, config, config.issue_url(slug),
                      archive.out / slug)
    archive.pdfs.setdefault(slug, {})[edition.lang] = target


def _publish(archive: Archive, issue: Issue, config: Config, with_pdf: bool) -> str:
    """Write the issue's web version, or each of its editions: ``out/ISSUE/`` alone for
    an issue of one edition, as before editions; else ``out/LANG/ISSUE/`` for each, and
    in ``out/ISSUE/`` the images every edition shows and a page that sends the reader
    to the source language's edition (the service answers it with a redirect), so
    that the links of emails already sent keep working. Gives the stylesheet."""
    out, slug = archive.out, issue.slug
    built = build_editions(issue, config)
    editions = {lang: localize(issue, lang, config) for lang in built}
    if len(built) == 1:
        [edition] = built.values()
        _remove_editions(out, slug)
        write_files(out / slug, {}, edition.assets)
        _write_page(archive, out / slug, edition, slug, config, with_pdf)
    else:
        _remove_editions(out, slug, keep=built)
        write_files(out / slug, {}, tuple(
            {a.target: a for e in built.values() for a in e.assets}.values()))
        for edition in built.values():
            _write_page(archive, out / edition.lang / slug, edition, slug, config,
                        with_pdf)
        source = next(iter(built.values()))
        page = environment(config.templates_dir).get_template("redirect.html.j2").render(
            t=catalogue(source.lang), issue=editions[source.lang], url=source.url,
            alternates={lang: e.url for lang, e in built.items()})
        write_files(out / slug, {WEB_HTML: page, WEB_CSS: source.stylesheet}, ())
        archive.redirects[slug] = source.url
    for lang, edition in built.items():
        archive.editions.setdefault(lang, []).append((editions[lang], edition.url or
                                                      config.issue_url(slug)))
    return next(iter(built.values())).stylesheet


def _index(config: Config, out: Path, lang: str, entries: list[tuple[Issue, str]],
           stylesheet: str, base: str, links: dict[str, str] | None = None,
           alternates: dict[str, str] | None = None,
           pdfs_found: dict[str, dict[str, Path]] | None = None) -> None:
    """Write ``index.html``, ``style.css`` and ``feed.atom`` of ``entries`` into ``out``;
    the index links each issue at ``links`` (relative), else at ``ISSUE/``, the
    indexes in other languages at ``alternates`` (``hreflang``, a language switch),
    and each issue's PDF in ``pdfs_found`` (``Archive.pdfs``): its edition in ``lang``,
    else its source's."""
    t = catalogue(lang)
    pdfs = {slug: Path(os.path.relpath(found.get(lang) or next(iter(found.values())),
                                       out)).as_posix()
            for slug, found in (pdfs_found or {}).items() if found}
    page = environment(config.templates_dir).get_template("archive.html.j2").render(
        t=t, issues=[issue for issue, _ in entries], links=links or {},
        alternates=alternates or {}, pdfs=pdfs,
        base_url=config.base_url.rstrip("/"))
    write_files(out, {"index.html": page, WEB_CSS: stylesheet,
                      "feed.atom": _feed(entries, base, t("archive_title"))}, ())


def build_archive(config: Config, out: Path, published: Collection[str],
                  lang: str = "fr", *, with_pdf: bool = True) -> Archive:
    """Write the web version of every issue in ``published``, ``index.html`` and ``feed.atom``.

    ``published`` is what ``published_issues`` returns; the web version of any
    other issue is removed from ``out`` if an earlier run wrote it there. The index
    and feed at the root list every issue at ``BASE_URL/ISSUE/`` in ``lang``; each
    language an issue has an edition in gets its own, ``out/LANG/index.html`` and
    ``feed.atom``, of the issues' editions in that language, when some issue has
    several editions. Each edition's PDF is written and linked too, unless
    ``with_pdf`` is false (or WeasyPrint is missing: ``Archive.pdf_missing``).
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
            _remove(out / slug)
            _remove_editions(out, slug)
            continue
        try:
            issue = load_publishable(folder, config)
        except ProblemsFound as exc:
            archive.skipped.append(f"{slug}: {len(exc.problems)} problems "
                                   f"(first: {exc.problems[0]})")
            continue
        stylesheet = _publish(archive, issue, config, with_pdf)
        archive.issues.append(issue)
    archive.issues.sort(key=lambda i: (i.date, i.slug), reverse=True)
    base = config.base_url.rstrip("/") + "/"
    _index(config, out, lang, [(i, config.issue_url(i.slug)) for i in archive.issues],
           stylesheet, base, pdfs_found=archive.pdfs)
    several = bool(archive.redirects)
    indexes = {x: f"{base}{x}/" for x in languages() if several and archive.editions.get(x)}
    for edition_lang in languages():
        entries = sorted(archive.editions.get(edition_lang, []) if several else [],
                         key=lambda e: (e[0].date, e[0].slug), reverse=True)
        if entries:
            links = {i.slug: f"{i.slug}/" if i.slug in archive.redirects else f"../{i.slug}/"
                     for i, _ in entries}  # an issue of one edition is at BASE_URL/ISSUE/
            _index(config, out / edition_lang, edition_lang, entries, stylesheet,
                   f"{base}{edition_lang}/", links, indexes,
                   {i.slug: {edition_lang: archive.pdfs[i.slug][edition_lang]}
                    for i, _ in entries if edition_lang in archive.pdfs.get(i.slug, {})})
        elif (out / edition_lang / "feed.atom").is_file():  # no edition left in it
            for name in ("index.html", WEB_CSS, "feed.atom"):
                (out / edition_lang / name).unlink(missing_ok=True)
    return archive
