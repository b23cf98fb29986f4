"""Where things are in an issue folder: the file names, and the directory of centres.

Layout::

    issues/cdms.yaml          the directory of centres (shared by all issues)
    issues/2018-06/issue.md   metadata in the header, the edito as body
    issues/2018-06/agenda.yaml
    issues/2018-06/movements.yaml
    issues/2018-06/news/*.md  one news item per file (``.md`` in any case), images beside

Apart from ``load`` so that finding files needs none of the parsers.

What else lies in ``news/`` is sorted here too (:func:`news_files`): a Word file, a PDF
or a ``forum.md.txt`` (Windows hides the extension) would otherwise be skipped without
a word and its news would miss the issue, so each is reported with what to do. Images
(:data:`IMAGE_SUFFIXES`), sub-folders and the files systems and editors leave behind
(hidden ``.*`` names, macOS's ``.DS_Store`` and ``._*``, Word's ``~$*`` lock files,
``Thumbs.db``, ``desktop.ini``) are passed over in silence.

An issue's slug (the name its campaign, cache entry, ``Message-ID`` and public
address go by) is worked out here only, by :func:`issue_slug`.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..messages import say

__all__ = ["AGENDA_FILE", "CENTRES_FILE", "IMAGE_SUFFIXES", "ISSUE_FILE", "MOVEMENTS_FILE",
           "NEWS_DIR", "find_centres_file", "is_item_file", "issue_folder_of", "issue_slug",
           "issue_translations", "news_files", "stray_advice", "translation_of",
           "translations_in"]

CENTRES_FILE = "cdms.yaml"
ISSUE_FILE = "issue.md"
AGENDA_FILE = "agenda.yaml"
MOVEMENTS_FILE = "movements.yaml"
NEWS_DIR = "news"
ITEM_SUFFIX = ".md"

#: Files beside the items that are theirs: what a web page and a mail client show.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})
_LEFT_BEHIND = frozenset({"thumbs.db", "desktop.ini"})
#: The message for each kind of file that is often dropped in ``news/`` by mistake.
_ADVICE = {
    **dict.fromkeys((".docx", ".doc", ".docm", ".rtf"), "word-file"),
    **dict.fromkeys((".odt", ".fodt"), "opendocument-file"),
    ".pdf": "pdf-file",
    **dict.fromkeys((".heic", ".heif", ".tif", ".tiff", ".bmp"), "image-format"),
}


#: ``NAME.LANG.md``: the translation of ``NAME.md`` (``issue.en.md``, ``forum.es.md``).
_TRANSLATION_RE = re.compile(r"(?P<stem>.+)\.(?P<lang>[a-z]{2,3})\.md", re.IGNORECASE)


def translation_of(path: Path) -> tuple[Path, str] | None:
    """The original a translation file translates, and its language; None for any other
    file. ``forum.en.md`` translates ``forum.md`` (whether that file exists or not)."""
    m = _TRANSLATION_RE.fullmatch(path.name)
    if m is None or _left_behind(path.name):
        return None
    return path.with_name(m["stem"] + ITEM_SUFFIX), m["lang"].lower()


def is_item_file(path: Path) -> bool:
    """Whether ``path`` names a news item: ``*.md`` in any case, not a hidden file, not
    the translation of another item."""
    return (path.suffix.lower() == ITEM_SUFFIX and not _left_behind(path.name)
            and translation_of(path) is None)


def translations_in(folder: Path) -> list[tuple[Path, Path, str]]:
    """Every translation file of ``folder``, sorted: (file, original, language)."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and (of := translation_of(path)) is not None:
            found.append((path, *of))
    return found


def issue_translations(folder: Path) -> dict[str, Path]:
    """The translations of an issue's ``issue.md``, by language: ``issue.en.md``…"""
    return {lang: path for path, original, lang in translations_in(folder)
            if original.name == ISSUE_FILE}


def _left_behind(name: str) -> bool:
    return name.startswith((".", "~$")) or name.lower() in _LEFT_BEHIND


def stray_advice(path: Path) -> str | None:
    """What to do with a file of ``news/`` that is no item; None when it may stay.

    None for items, images and the files systems and editors leave behind.
    """
    name, suffix = path.name, path.suffix.lower()
    if (is_item_file(path) or translation_of(path) is not None or suffix in IMAGE_SUFFIXES
            or _left_behind(name)):
        return None
    if suffix in _ADVICE:
        return say(_ADVICE[suffix])
    if suffix in (".txt", ".markdown", ".mdown", ".mkd"):
        stem = path.stem
        if stem.lower().endswith(ITEM_SUFFIX):  # forum.md.txt: Windows hid the '.txt'
            return say("hidden-extension", suffix=path.suffix, name=stem)
        return say("not-md", name=f"{stem}{ITEM_SUFFIX}")
    return say("not-an-item", folder=NEWS_DIR)


def news_files(news_dir: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The items of ``news_dir``, sorted, and each stray file with what to do with it.

    Both empty when the folder does not exist (an issue may have no news).
    """
    if not news_dir.is_dir():
        return [], []
    items, strays = [], []
    for path in sorted(news_dir.iterdir()):
        if not path.is_file():
            continue
        if is_item_file(path):
            items.append(path)
        elif (advice := stray_advice(path)) is not None:
            strays.append((path, advice))
    return items, strays


def issue_folder_of(path: Path) -> Path:
    """The issue folder a path names or lies in: the folder itself, the folder of
    ``issue.md``, ``agenda.yaml``…, or the one above ``news/`` for an item."""
    if path.is_dir():
        return path
    return path.parent.parent if path.parent.name == NEWS_DIR else path.parent


def find_centres_file(start: Path) -> Path | None:
    """The ``cdms.yaml`` in ``start`` or the nearest folder above it."""
    for folder in [start, *start.resolve().parents]:
        candidate = folder / CENTRES_FILE
        if candidate.is_file():
            return candidate
    return None


def issue_slug(folder: Path) -> str:
    """The issue's slug: the name of its folder, once the path is resolved.

    Resolved, because the name of the path as written may be no name at all:
    ``infolettre send .`` run inside ``issues/2018-06`` means the issue ``2018-06``
    (``Path(".").name`` is ``""``, and ``issues/2018-06/news/..`` is ``".."``).
    A folder reached through a link goes by the name of the folder it links to,
    so one issue has one slug however it is named on the command line.
    """
    return folder.resolve().name
