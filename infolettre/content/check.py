"""Is an issue, or one contributor's file, publishable? Every problem, located.

``load`` already validates each field; this module adds what needs the whole
picture: the length limit of the configuration, images and their alt text,
files the item refers to, and the files of ``news/`` that are no item (a Word file,
a ``forum.md.txt``…), which would otherwise miss the issue without a word.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..errors import Problem, ProblemsFound
from ..words import shown
from . import markup
from .images import body_images
from .layout import (
    AGENDA_FILE,
    CENTRES_FILE,
    ISSUE_FILE,
    MOVEMENTS_FILE,
    NEWS_DIR,
    find_centres_file,
    news_files,
    stray_advice,
)
from .load import (
    Loaded,
    load_centres,
    load_issue,
    load_item,
)
from .model import Issue, NewsItem
from .source import read_front_matter

__all__ = ["check_issue", "check_item", "check_path"]


def _inside(folder: Path, file: Path) -> bool:
    return file.resolve().is_relative_to(folder.resolve())


def _bad_src(src: str, why: str) -> str:
    return (f"the image '{shown(src)[:80]}' has {why}: give the file's name (the file "
            "beside the item) or its web address starting with https://")


def check_item(item: NewsItem, config: Config, issue_dir: Path | None) -> list[Problem]:
    """Problems of one loaded item that its fields alone do not show."""
    problems = []
    path, first = item.path, item.body_line
    limit = min(config.max_body_chars, markup.MAX_TEXT_CHARS)
    if len(item.body) > limit:
        problems.append(Problem(path, first, (
            f"the text is {len(item.body):,} characters long, over the limit of "
            f"{limit:,}: shorten it, or link to the full article")))
        return problems  # its images are looked at once it is short enough to render
    local = []
    if item.image:
        if (why := markup.bad_image_src(item.image.src)) is not None:
            problems.append(Problem(path, item.image.line, _bad_src(item.image.src, why)))
        elif item.image.file is not None:
            local.append((path, item.image.line, item.image.src, item.image.file))
    for n, src, alt in body_images(item.body):
        if not alt:
            problems.append(Problem(path, first + n, (
                f"the image '{shown(src)}' has no alt text: write ![what it shows]({src})")))
        if (why := markup.bad_image_src(src)) is not None:
            problems.append(Problem(path, first + n, _bad_src(src, why)))
        elif markup.is_relative(src):
            local.append((path, first + n, src, path.parent / src))
    for _, line, src, file in local:
        if not file.is_file():
            problems.append(Problem(path, line, (
                f"image '{src}' not found: put the file beside {path.name}")))
        elif issue_dir is not None and not _inside(issue_dir, file):
            problems.append(Problem(path, line, (
                f"image '{src}' is outside the issue folder: copy it beside {path.name}")))
    return problems


def check_issue(issue: Issue, config: Config) -> list[Problem]:
    """Problems of a loaded issue beyond those loading found."""
    problems = []
    for item in issue.news:
        problems.extend(check_item(item, config, issue.path))
    return problems


def load_checked(folder: Path, config: Config) -> Loaded:
    """Load an issue folder and run every check on it.

    The stray files of ``news/`` are reported here rather than by ``load_issue``, which
    ``new-issue`` also uses to read the previous issue, and which they do not concern.
    """
    loaded = load_issue(folder)
    if loaded.issue is not None:
        loaded.problems.extend(check_issue(loaded.issue, config))
    if folder.is_dir() and (folder / ISSUE_FILE).is_file():
        loaded.problems.extend(Problem(path, 1, advice)
                               for path, advice in news_files(folder / NEWS_DIR)[1])
    if loaded.problems:
        loaded.issue = None
    return loaded


def _issue_lang(folder: Path) -> str:
    meta = folder / ISSUE_FILE
    if meta.is_file():
        try:
            lang = read_front_matter(meta).data.get("lang")
        except ProblemsFound:  # the issue file is checked on its own
            return "fr"
        return lang if isinstance(lang, str) else "fr"
    return "fr"


def check_path(path: Path, config: Config) -> list[Problem]:
    """Every problem of an issue folder, or of one file of it, sorted by place."""
    if path.is_dir():
        return sorted(load_checked(path, config).problems)
    if not path.exists():
        return [Problem(path, 1, "no such file or folder")]
    if path.name == CENTRES_FILE:
        problems: list[Problem] = []
        load_centres(path, problems)
        return sorted(problems)
    if path.name in (ISSUE_FILE, AGENDA_FILE, MOVEMENTS_FILE):
        # These refer to each other and to the centres: check the whole issue and
        # report what concerns this file.
        problems = load_checked(path.parent, config).problems
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
    item = load_item(path, centres, _issue_lang(issue_dir) if issue_dir else "fr", problems)
    if item is not None:
        problems.extend(check_item(item, config, issue_dir))
    return sorted(problems)
