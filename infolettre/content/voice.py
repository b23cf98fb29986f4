"""In which language ``check``, ``build``, ``new-item`` and the preview talk to the person
who runs them.

The contributor's own choice first (``--lang``), then the language the file says it is
written in (an item's ``lang:``), then the issue's, then the user's locale (``LANG``),
then English. A language counts only when the messages have a catalogue for it, and
``pt-BR`` counts as ``pt``: an item in Brazilian Portuguese is checked in Portuguese.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .. import messages
from .layout import ISSUE_FILE, is_item_file, issue_folder_of
from .source import header_lang

__all__ = ["language_for"]


def _declared(file: Path) -> str | None:
    """The base language a Markdown file's header declares, if it has a catalogue."""
    lang = header_lang(file)
    if lang is None:
        return None
    base = lang.strip().replace("_", "-").split("-")[0].lower()
    return base if base in messages.languages() else None


def language_for(path: Path, asked: str | None = None,
                 environ: Mapping[str, str] | None = None) -> str:
    """The language to say messages about ``path`` (a folder or a file of an issue) in."""
    if asked:
        return asked
    if (not path.is_dir() and is_item_file(path) and path.name != ISSUE_FILE
            and (lang := _declared(path)) is not None):
        return lang
    if (lang := _declared(issue_folder_of(path) / ISSUE_FILE)) is not None:
        return lang
    return messages.locale_language(environ) or messages.SOURCE
