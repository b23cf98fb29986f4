"""Where things are in an issue folder: the file names, and the directory of centres.

Layout::

    issues/cdms.yaml          the directory of centres (shared by all issues)
    issues/2018-06/issue.md   metadata in the header, the edito as body
    issues/2018-06/agenda.yaml
    issues/2018-06/movements.yaml
    issues/2018-06/news/*.md  one news item per file

Apart from ``load`` so that finding files needs none of the parsers.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["AGENDA_FILE", "CENTRES_FILE", "ISSUE_FILE", "MOVEMENTS_FILE", "NEWS_DIR",
           "find_centres_file"]

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
