"""Bullets as Word pastes them, made a Markdown list before the text is parsed.

A contributor who writes in Word and pastes the text gets ``•``, ``◦`` or ``▪``
(or a dash and a tab) at the start of lines, which Markdown leaves as a paragraph.
"""

from __future__ import annotations

import re

from markdown.preprocessors import Preprocessor

__all__ = ["WordBullets", "word_bullets"]


#: A bullet as Word pastes it: ``•``, ``◦`` or ``▪`` then a tab or spaces, or ``–``/``-``
#: then a tab (a dash and spaces is Markdown already, indented a nested Markdown list).
_WORD_BULLET_RE = re.compile(
    r"^(?:[ \t]*(?P<mark>[•◦▪])[ \t]+|[ ]{0,3}[–-]\t[ \t]*)(?P<text>\S.*)$")
_LIST_LINE_RE = re.compile(r"^(?:[ ]{4})?- \S")


def word_bullets(text: str) -> str:
    """``text`` with Word's bullets as a Markdown list (``◦``, its second level, nested
    under the bullet above), line for line so that a problem still names its line."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if m := _WORD_BULLET_RE.match(line):
            nested = m["mark"] == "◦" and i > 0 and _LIST_LINE_RE.match(lines[i - 1])
            lines[i] = ("    - " if nested else "- ") + m["text"]
    return "\n".join(lines)


class WordBullets(Preprocessor):
    """Word-pasted bullets as a list, apart from the paragraphs above and below them."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        after_bullet = False
        for old, new in zip(lines, word_bullets("\n".join(lines)).split("\n"), strict=True):
            bullet = new != old
            if out and out[-1].strip() and new.strip() and (
                    (bullet and not _LIST_LINE_RE.match(out[-1]))
                    or (after_bullet and not bullet and not new.startswith((" ", "\t")))):
                out.append("")
            out.append(new)
            after_bullet = bullet
        return out
