"""Build an issue: check it, render it, inline the email's CSS, write the outputs.

``build_edition`` is what sending uses too: the email's HTML (inlined) and text
with the per-recipient placeholders still in them. ``build_issue`` writes them
for people to look at, placeholders filled with preview values.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..errors import InfoLettreError, ProblemsFound, display_path
from ..fsutil import atomic_write
from . import placeholders
from .assets import publish
from .ready import Asset, ReadyEdition

if TYPE_CHECKING:
    from ..content.model import Issue
    from ..errors import Problem
    from .render import Shared

__all__ = ["BuildReport", "ReadyEdition", "build_edition", "build_editions", "build_issue",
           "edition_to_send", "edition_url", "editions_to_send", "load_publishable",
           "preview_values", "write_files"]

EMAIL_HTML, EMAIL_TEXT, WEB_HTML, WEB_CSS = "email.html", "email.txt", "index.html", "style.css"


@dataclass
class BuildReport:
    """What ``build_issue`` wrote, and what the quality checks found."""

    out: Path
    files: list[Path] = field(default_factory=list)
    #: Where each edition was written, source language first: ``out`` itself for
    #: an issue of one edition, ``out/LANG`` for each of several.
    editions: dict[str, Path] = field(default_factory=dict)
    html_bytes: int = 0
    warnings: list[str] = field(default_factory=list)
    #: The PDF edition of each language written (``pdf.pdf_name``), when asked for.
    pdfs: dict[str, Path] = field(default_factory=dict)
    #: Why the PDF editions were asked for and not written (WeasyPrint missing), or "".
    pdf_missing: str = ""


def load_publishable(folder: Path, config: Config, *,
                     include_submitted: bool = False) -> Issue:
    """Load an issue folder, raising ProblemsFound unless it passes ``check``; its
    approved items only, unless ``include_submitted`` (``preview``, ``build
    --include-submitted``), which shows contributions not approved yet, marked."""
    from ..content.check import load_checked  # the parsers, only when an issue is read
    from ..content.review import approved_only

    loaded = load_checked(folder, config)
    if loaded.issue is None:
        raise ProblemsFound(loaded.problems)
    return loaded.issue if include_submitted else approved_only(loaded.issue)


def edition_url(config: Config, slug: str, lang: str, several: bool) -> str:
    """The public address of an edition: ``BASE_URL/LANG/ISSUE/`` when the issue has
    several editions, else ``BASE_URL/ISSUE/`` as an issue had before editions."""
    return f"{config.base_url.rstrip('/')}/{lang}/{slug}/" if several \
        else config.issue_url(slug)


def build_edition(issue: Issue, config: Config) -> ReadyEdition:
    """Render and inline an issue's source-language edition once; sending substitutes
    placeholders per recipient.

    The result is kept in ``config.cache_dir`` under a hash of everything that
    goes into it (the issue's files, the centres, templates, catalogues, the code
    itself, the settings that checking and rendering read), so ``send`` after
    ``build`` renders nothing again.
    """
    from ..content.editions import editions

    return _edition(issue, config, issue.original_lang, editions(issue, config))


def build_editions(issue: Issue, config: Config) -> dict[str, ReadyEdition]:
    """Every edition of a checked issue, source language first, each rendered and
    inlined once (or taken from the cache)."""
    from ..content.editions import editions
    from . import cache
    from .render import Shared

    langs = editions(issue, config)
    names = {lang: cache.entry_name(lang, issue.original_lang) for lang in langs}
    keys = cache.edition_keys(issue.path, config)
    shared = Shared()  # templates and untranslated items, worked out once for all
    built = {lang: _edition(issue, config, lang, langs, shared, keys(names[lang]))
             for lang in langs}
    cache.store_languages(config.cache_dir, issue.slug, keys("*"), langs,
                          issue.original_lang)
    return built


def _edition(issue: Issue, config: Config, lang: str, langs: tuple[str, ...],
             shared: Shared | None = None, key: str = "") -> ReadyEdition:
    """The edition of ``issue`` in ``lang``, one of ``langs``, from the cache (under
    ``cache.entry_name``) or rendered."""
    from ..content.editions import localize
    from . import cache

    name = cache.entry_name(lang, issue.original_lang)
    key = key or cache.edition_key(issue.path, config, name)
    cached = cache.load(config.cache_dir, issue.slug, key, name)
    if cached is not None:
        return cached
    several = len(langs) > 1
    alternates = {x: edition_url(config, issue.slug, x, True) for x in langs} if several else {}
    return _render(localize(issue, lang, config), config, key, name,
                   edition_url(config, issue.slug, lang, several), alternates, shared)


def edition_to_send(folder: Path, config: Config) -> ReadyEdition:
    """The source-language edition of an issue folder that passes ``check``, ready to send.

    A cache entry is only ever written for an issue that passed ``check``, and
    its key covers the folder's files, the code and the settings that checking
    reads: an entry found for the folder as it is now is that same issue,
    checked. So ``send`` after ``build`` neither parses nor checks again, and
    starts in a fraction of the time. Otherwise the issue is loaded, checked
    (ProblemsFound when it fails) and built.
    """
    from ..content.layout import issue_slug
    from . import cache

    key = cache.edition_key(folder, config)
    cached = cache.load(config.cache_dir, issue_slug(folder), key)
    return cached if cached is not None else build_edition(load_publishable(folder, config),
                                                           config)


def editions_to_send(folder: Path, config: Config) -> dict[str, ReadyEdition]:
    """Every edition of an issue folder that passes ``check``, source language first.

    Each is rendered and inlined once (never per recipient) and kept in the cache
    as ``edition_to_send`` keeps the source's: when the list of editions and each
    of them are found for the folder as it is now, nothing is parsed or checked
    again. ``ReadyEdition.lang`` is the edition's language, ``url`` its address.
    """
    from ..content.layout import issue_slug
    from . import cache

    slug = issue_slug(folder)
    keys = cache.edition_keys(folder, config)
    recorded = cache.load_languages(config.cache_dir, slug, keys("*"))
    if recorded:
        langs, source = recorded
        names = {lang: cache.entry_name(lang, source) for lang in langs}
        found = {lang: cache.load(config.cache_dir, slug, keys(name), name)
                 for lang, name in names.items()}
        if all(e is not None for e in found.values()):
            return {lang: e for lang, e in found.items() if e is not None}
    return build_editions(load_publishable(folder, config), config)


def _render(issue: Issue, config: Config, key: str, name: str, url: str,
            alternates: dict[str, str], shared: Shared | None) -> ReadyEdition:
    """Render, inline and check the edition ``issue`` is, and keep it under ``key``."""
    from . import cache
    from .inline import inline_css  # premailer, Jinja2, lxml only when rendering
    from .quality import email_warnings
    from .render import Shared, render_edition

    shared = shared if shared is not None else Shared()
    edition = render_edition(issue, config, url, alternates, shared)
    # Sealed once inlined: premailer would turn a "&#37;" back into "%".
    html = placeholders.seal(inline_css(edition.html), edition.nonce, html=True)
    found, headings = _warnings(issue, shared)
    built = ReadyEdition(issue.slug, issue.subject, issue.lang, html, edition.text,
                         edition.web, edition.stylesheet, edition.assets,
                         tuple([*map(str, found), *email_warnings(html, headings=headings)]),
                         url)
    cache.store(config.cache_dir, built, key, name)
    return built


def _warnings(issue: Issue, shared: Shared) -> tuple[list[Problem], bool]:
    """``check.issue_warnings`` of the edition, and whether its headings are in order
    (else the email's heading check would say it again, naming no file). A text's
    warnings are the same in every edition that shows it: found once."""
    from ..content.check import edito_warnings, heading_warnings, image_warnings

    def once(what: str, path: Path, lang: str, find: Callable[[], list[Problem]]
             ) -> list[Problem]:
        if (what, path, lang) not in shared.warnings:
            shared.warnings[what, path, lang] = find()
        return shared.warnings[what, path, lang]

    edito = once("edito", issue.path, issue.edito, partial(edito_warnings, issue))
    headings = [once("headings", i.path, i.lang, partial(heading_warnings, i))
                for i in issue.news]
    images = [once("images", i.path, i.lang, partial(image_warnings, i)) for i in issue.news]
    found = sorted([*edito, *(w for h, m in zip(headings, images, strict=True)
                              for w in (*m, *h))])
    return found, not (edito or any(headings))


def preview_values(config: Config, issue: Issue,
                   edition: ReadyEdition | None = None) -> dict[str, str]:
    """Values for the placeholders in a preview: real web address (the edition's, when
    given), inert unsubscribe link."""
    url = edition.url if edition is not None and edition.url else config.issue_url(issue.slug)
    return {"web_url": url, "unsubscribe_url": url + "#unsubscribe-preview",
            "preferences_url": url + "#preferences-preview"}


def write_files(out: Path, outputs: dict[str, str], assets: tuple[Asset, ...]) -> list[Path]:
    """Write ``outputs`` (name: text) and publish ``assets`` into ``out``, each atomically.

    An image is written as its web-ready copy (``assets.web_copy``) when that is
    smaller, so that a phone's 5 MB photo is not what every reader downloads.
    """
    written = []
    try:
        if out.exists() and not out.is_dir():
            raise InfoLettreError(f"{out}: exists and is not a folder")
        for name, content in outputs.items():
            atomic_write(out / name, content)
            written.append(out / name)
        for asset in assets:
            target = out / asset.target
            target.parent.mkdir(parents=True, exist_ok=True)
            publish(asset.source, target)  # a photo's web-ready copy, see ``assets``
            written.append(target)
    except OSError as exc:
        raise InfoLettreError(f"{out}: cannot write: {exc.strerror or exc}") from None
    return written


def build_issue(folder: Path, out: Path, config: Config, *,
                keep_placeholders: bool = False, include_submitted: bool = False,
                pdf: bool = False) -> BuildReport:
    """Check, render and write ``email.html``, ``email.txt``, ``index.html`` of each edition.

    An issue of one edition is written into ``out`` as before editions existed;
    with several, each goes into ``out/LANG/``, and the images, which every edition
    shows from the issue's own address, into ``out`` once. With ``pdf``, each
    edition's PDF too (``infolettre-ISSUE-LANG.pdf`` beside its page), when
    WeasyPrint is installed; else ``BuildReport.pdf_missing`` says how to install it.
    """
    issue = load_publishable(folder, config, include_submitted=include_submitted)
    if include_submitted:  # never under the key that send finds: that is approved items only
        with tempfile.TemporaryDirectory(prefix="infolettre-review-") as tmp:
            return _write_editions(issue, out, replace(config, cache_dir=Path(tmp)),
                                   keep_placeholders, pdf)
    return _write_editions(issue, out, config, keep_placeholders, pdf)


def _write_pdfs(report: BuildReport, built: dict[str, ReadyEdition], slug: str,
                config: Config) -> None:
    """Write the PDF edition of each edition in ``built`` beside its web page (written
    already, with its images under ``report.out``), or say why it cannot be."""
    from . import pdf  # WeasyPrint only when the PDF is asked for

    report.pdf_missing = pdf.available()
    if report.pdf_missing:
        return
    for lang, edition in built.items():
        target = report.editions[lang] / pdf.pdf_name(slug, lang)
        try:
            report.pdfs[lang] = pdf.write_pdf(edition.web, target, config,
                                              config.issue_url(slug), report.out)
        except InfoLettreError as exc:  # the other outputs stand: say what is missing
            report.warnings.append(f"{display_path(target)}: not written: {exc}")
            continue
        report.files.append(target)


def _write_editions(issue: Issue, out: Path, config: Config,
                    keep_placeholders: bool, pdf: bool = False) -> BuildReport:
    built = build_editions(issue, config)
    report = BuildReport(out)
    several = len(built) > 1
    for lang, edition in built.items():
        values = {} if keep_placeholders else preview_values(config, issue, edition)
        html = placeholders.fill(edition.html, values)
        outputs = {EMAIL_HTML: html, EMAIL_TEXT: placeholders.fill(edition.text, values),
                   WEB_HTML: edition.web, WEB_CSS: edition.stylesheet}
        where = out / lang if several else out
        report.files += write_files(where, outputs, () if several else edition.assets)
        report.editions[lang] = where
        if not report.html_bytes:  # the source's, as before editions
            report.html_bytes = len(html.encode("utf-8"))
        report.warnings += [w for w in edition.warnings if w not in report.warnings]
    if several:  # a translation's text may show an image of its own
        report.files += write_files(out, {}, tuple({a.target: a for e in built.values()
                                                    for a in e.assets}.values()))
    if pdf:
        _write_pdfs(report, built, issue.slug, config)
    return report
