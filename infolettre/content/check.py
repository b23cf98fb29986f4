"""Is an issue, or one contributor's file, publishable? Every problem, located.

``load`` already validates each field; this module adds what needs the whole
picture: the length limit of the configuration, images and their alt text,
files the item refers to, and the files of ``news/`` that are no item (a Word file,
a ``forum.md.txt``…), which would otherwise miss the issue without a word.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from ..config import CONFIG_NAME, Config
from ..errors import Problem, ProblemsFound
from ..messages import Number, Or, say
from ..words import closest, shown, without_accents
from . import markup
from .editions import translation_warnings
from .images import body_images
from .layout import (
    AGENDA_FILE,
    CENTRES_FILE,
    ISSUE_FILE,
    MOVEMENTS_FILE,
    NEWS_DIR,
    find_centres_file,
    issue_folder_of,
    news_files,
    stray_advice,
    translation_of,
)
from .load import (
    Loaded,
    load_centres,
    load_issue,
    load_item,
)
from .model import Issue, NewsItem
from .source import header_lang, read_front_matter

__all__ = ["ITEM_TITLE_LEVEL", "MAX_IMAGE_BYTES", "check_issue", "check_item", "check_path",
           "edito_warnings", "heading_warnings", "issue_warnings"]

#: Above this an image is most likely a photo as it came off a phone or a camera:
#: ``build`` publishes a narrowed copy, but the author should know what they sent.
MAX_IMAGE_BYTES = 1024 * 1024

#: The level of an item's title in the email (the theme's ``<h3>``): the headings of
#: its text (``#`` is ``h4``, as ``markup.to_html`` renders it) come below it.
ITEM_TITLE_LEVEL = 3
#: That of the edito's heading (``<h2>``): ``render`` gives the edito an offset of 2.
EDITO_TITLE_LEVEL = 2

_HEADING_RE = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1>", re.S)
_TAG_RE = re.compile(r"<[^>]*>")


def _inside(folder: Path, file: Path) -> bool:
    return file.resolve().is_relative_to(folder.resolve())


def _bad_src(src: str, why: str) -> str:
    return say("bad-image-address", src=shown(src)[:80], why=why)


def _near(file: Path) -> list[str]:
    """The files beside ``file`` that differ from its name in case, accents or extension,
    then those whose name is merely close (a typo)."""
    try:
        names = sorted(p.name for p in file.parent.iterdir()
                       if p.is_file() and p.suffix.lower() != ".md")  # items are no images
    except OSError:
        return []
    wanted = without_accents(file.name)
    stem = wanted.rsplit(".", 1)[0]
    same = [n for n in names
            if (folded := without_accents(n)) == wanted or folded.rsplit(".", 1)[0] == stem]
    if same:
        return same[:3]
    by_fold = {without_accents(n): n for n in names}
    return [by_fold[n] for n in closest(wanted, set(by_fold))]


def _not_found(src: str, file: Path, item: Path) -> str:
    near = _near(file)
    if near:
        return say("image-not-found-near", src=src, near=Or(f"`{n}`" for n in near))
    return say("image-not-found", src=src, item=item.name)


def _local_images(item: NewsItem) -> list[tuple[int, str, Path]]:
    """(line, src, file) of the item's images that are files of the issue."""
    local = []
    if item.image and item.image.file is not None \
            and markup.bad_image_src(item.image.src) is None:
        local.append((item.image.line, item.image.src, item.image.file))
    for n, src, _ in body_images(item.body):
        if markup.bad_image_src(src) is None and markup.is_relative(src):
            local.append((item.body_line + n, src, item.path.parent / src))
    return local


def image_warnings(item: NewsItem) -> list[Problem]:
    """What does not block an item but should be known: images over ``MAX_IMAGE_BYTES``."""
    warnings = []
    for line, src, file in _local_images(item):
        try:
            size = file.stat().st_size if file.is_file() else 0
        except OSError:
            continue
        if size > MAX_IMAGE_BYTES:
            warnings.append(Problem(item.path, line, say(
                "image-heavy", src=shown(src), size=size / 1024 / 1024,
                limit=MAX_IMAGE_BYTES // 1024 // 1024)))
    return warnings


def _plain(fragment: str) -> str:
    """The text of an HTML fragment, spaces as a contributor types them."""
    return " ".join(html.unescape(_TAG_RE.sub("", fragment)).split())


def _skipped_headings(path: Path, body: str, body_line: int, above: int,
                      offset: int) -> list[Problem]:
    """Headings of ``body`` (rendered as ``markup.to_html`` does, its highest heading
    being ``h{1+offset}``) that skip a level below the ``h{above}`` the theme puts
    over it: only a skip inside the text itself, since a text that starts at ``##``
    starts right below its title."""
    if len(body) > markup.MAX_TEXT_CHARS:
        return []  # too long to render, reported as such
    found = [(int(m[1]), _plain(m[2])) for m in
             _HEADING_RE.finditer(markup.to_html(body, "https://x.invalid/", offset))]
    written_top = markup.top_heading(body) or 1  # the '#'s of h{1+offset} as written
    lines = [" ".join(line.split()) for line in body.splitlines()]
    warnings, top, at = [], above, 0
    for level, text in found:
        n = next((i for i in range(at, len(lines)) if text and text in lines[i]), None)
        if n is not None:
            at = n + 1
        if level > above + 1:
            marks = "#" * (above - offset + written_top)
            warnings.append(Problem(path, body_line + (n if n is not None else 0), say(
                "heading-skips", text=shown(text)[:60], level=level, above=above,
                marks=marks, top=top)))
        above = level
    return warnings


def heading_warnings(item: NewsItem) -> list[Problem]:
    """Headings of an item's text that skip a level (``#`` then ``###``): screen readers
    announce a missing level, and ``build`` said only "a heading level is skipped",
    without saying in which file. A text that starts at ``##`` skips none: its
    highest heading is rendered right below the item's title."""
    return _skipped_headings(item.path, item.body, item.body_line, ITEM_TITLE_LEVEL,
                             ITEM_TITLE_LEVEL)


def edito_warnings(issue: Issue) -> list[Problem]:
    """The same for the edito, below the theme's ``<h2>`` "Édito" (its highest heading
    is ``h3``)."""
    meta = issue.path / ISSUE_FILE
    try:
        body_line = read_front_matter(meta).body_line
    except ProblemsFound:
        return []
    return _skipped_headings(meta, issue.edito, body_line, EDITO_TITLE_LEVEL,
                             EDITO_TITLE_LEVEL)


def status_warnings(item: NewsItem) -> list[Problem]:
    """A contributed item not approved yet: left out of the build, which should be known."""
    if item.status == "submitted":
        return [Problem(item.path, 1, say("not-approved", file=item.path.name,
                                          who=item.submitted_by or "?"))]
    if item.status == "returned":
        return [Problem(item.path, 1, say("returned-item", file=item.path.name))]
    return []


def item_warnings(item: NewsItem) -> list[Problem]:
    """What in one contributor's item does not block it but should be fixed."""
    return [*image_warnings(item), *heading_warnings(item), *status_warnings(item)]


def issue_warnings(issue: Issue) -> list[Problem]:
    """The warnings of every item of an issue (``build`` prints them with its own)."""
    return sorted([*edito_warnings(issue),
                   *(w for item in issue.news for w in item_warnings(item))])


def postal_warnings(config: Config) -> list[Problem]:
    """No postal address for the email's footer: Gmail's and Yahoo's rules for bulk
    senders, and some laws (CAN-SPAM), expect one in every newsletter."""
    if config.postal_address.strip():
        return []
    return [Problem(config.source or Path(CONFIG_NAME), 1, say("no-postal-address"))]


def check_item(item: NewsItem, config: Config, issue_dir: Path | None,
               warnings: list[Problem] | None = None) -> list[Problem]:
    """Problems of one loaded item that its fields alone do not show.

    Findings that do not block publication (a heavy photo) go to ``warnings`` when given.
    """
    problems = []
    path, first = item.path, item.body_line
    limit = min(config.max_body_chars, markup.MAX_TEXT_CHARS)
    if len(item.body) > limit:
        problems.append(Problem(path, first, say(
            "text-too-long", length=Number(len(item.body)), limit=Number(limit))))
        if len(item.body) > markup.MAX_TEXT_CHARS:
            return problems  # its images are looked at once it is short enough to parse
    local = []
    if item.image:
        if (why := markup.bad_image_src(item.image.src)) is not None:
            problems.append(Problem(path, item.image.line, _bad_src(item.image.src, why)))
        elif item.image.file is not None:
            local.append((path, item.image.line, item.image.src, item.image.file))
    for n, src, alt in body_images(item.body):
        if not alt:
            problems.append(Problem(path, first + n, say("body-image-no-alt",
                                                          src=shown(src))))
        if (why := markup.bad_image_src(src)) is not None:
            problems.append(Problem(path, first + n, _bad_src(src, why)))
        elif markup.is_relative(src):
            local.append((path, first + n, src, path.parent / src))
    for _, line, src, file in local:
        if not file.is_file():
            problems.append(Problem(path, line, _not_found(src, file, path)))
        elif issue_dir is not None and not _inside(issue_dir, file):
            problems.append(Problem(path, line, say("image-outside", src=src,
                                                    item=path.name)))
    if warnings is not None:
        warnings.extend(item_warnings(item))
    return problems


def check_issue(issue: Issue, config: Config,
                warnings: list[Problem] | None = None) -> list[Problem]:
    """Problems of a loaded issue beyond those loading found (warnings as in check_item)."""
    problems = []
    for item in issue.news:
        problems.extend(check_item(item, config, issue.path, warnings))
    return problems


def load_checked(folder: Path, config: Config,
                 warnings: list[Problem] | None = None) -> Loaded:
    """Load an issue folder and run every check on it.

    The stray files of ``news/`` are reported here rather than by ``load_issue``, which
    ``new-issue`` also uses to read the previous issue, and which they do not concern.
    """
    loaded = load_issue(folder)
    # The drafts, not the issue: an item with a bad field, or a bad file beside it,
    # must not hide a missing image (the author would fix one thing per run).
    for item in loaded.drafts:
        loaded.problems.extend(check_item(item, config, folder, warnings))
    if loaded.issue is not None and warnings is not None:
        warnings.extend(edito_warnings(loaded.issue))
        warnings.extend(translation_warnings(loaded.issue, config))
        warnings.extend(postal_warnings(config))
    if folder.is_dir() and (folder / ISSUE_FILE).is_file():
        loaded.problems.extend(Problem(path, 1, advice)
                               for path, advice in news_files(folder / NEWS_DIR)[1])
    if loaded.problems:
        loaded.issue = None
    return loaded


def _issue_lang(folder: Path) -> str:
    return header_lang(folder / ISSUE_FILE) or "fr"


def check_path(path: Path, config: Config,
               warnings: list[Problem] | None = None) -> list[Problem]:
    """Every problem of an issue folder, or of one file of it, sorted by place.

    The findings that do not block (``image_warnings``) are added to ``warnings``.
    """
    if path.is_dir():
        return sorted(load_checked(path, config, warnings).problems)
    if not path.exists():
        return [Problem(path, 1, say("no-such-path"))]
    if path.name == CENTRES_FILE:
        problems: list[Problem] = []
        load_centres(path, problems)
        return sorted(problems)
    if path.name in (ISSUE_FILE, AGENDA_FILE, MOVEMENTS_FILE) or translation_of(path):
        # These refer to each other and to the centres: check the whole issue and
        # report what concerns this file.
        found: list[Problem] = []
        problems = load_checked(issue_folder_of(path), config, found).problems
        if warnings is not None:
            warnings.extend(w for w in found if w.path.resolve() == path.resolve())
        return sorted(p for p in problems if p.path.resolve() == path.resolve())
    problems = []
    issue_dir = path.parent.parent if path.parent.name == NEWS_DIR else None
    if issue_dir is not None and (advice := stray_advice(path)) is not None:
        return [Problem(path, 1, advice)]
    centres_file = find_centres_file(path.parent)
    centres = None
    if centres_file is not None:
        centres = load_centres(centres_file, problems)
        problems = [p for p in problems if p.path == path]  # the directory's own are not ours
    drafts: list[NewsItem] = []
    load_item(path, centres, _issue_lang(issue_dir) if issue_dir else "fr", problems,
              drafts=drafts)
    for item in drafts:  # with a bad field too: its images are still looked at
        problems.extend(check_item(item, config, issue_dir, warnings))
    return sorted(problems)
