"""Where things are in an issue folder: the file names, and the directory of centres.

Layout::

    issues/cdms.yaml          the directory of centres (shared by all issues)
    issues/2018-06/issue.md   metadata in the header, the edito as body
    issues/2018-06/agenda.yaml
    issues/2018-06/movements.yaml
    issues/2018-06/news/*.md  one news item per file

Apart from ``load`` so that finding files needs none of the parsers.

An issue's slug (the name its campaign, cache entry, ``Message-ID`` and public
address go by) is worked out here only, by :func:`issue_slug`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["AGENDA_FILE", "CENTRES_FILE", "ISSUE_FILE", "MOVEMENTS_FILE", "NEWS_DIR",
           "find_centres_file", "issue_slug"]

CENTRES_FILE = "cdms.yaml"
ISSUE_FILE = "issue.md"
AGENDA_FILE = "agenda.yaml"
MOVEMENTS_FILE = "movements.yaml"
NEWS_DIR = "news"


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
