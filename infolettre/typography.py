"""Plain-text typography shared by every stage: line filling and French spacing.

The text part of the email, the templates' ``wrap`` filter and the scaffolded
files all fill lines the same way: never breaking a word or a URL, and never
starting a line with ``:`` ``;`` ``!`` ``?`` or ``»`` (French writes a space before
them, which must be a no-break space).
"""

from __future__ import annotations

import re
import textwrap

__all__ = ["MIN_WIDTH", "WIDTH", "tie_punctuation", "wrap"]

WIDTH = 78
#: The narrowest a line of text gets: deeper quotes and lists stop indenting there.
MIN_WIDTH = 30

_SPACE_RE = re.compile(r"[ \t\n\r\f\v]+")  # not str.split(): it splits at no-break spaces
_TIGHT_RE = re.compile(r"(«) | ([»:;!?])")


def tie_punctuation(text: str) -> str:
    """Glue « » : ; ! ? to their word with a no-break space where a space was written.

    French puts a space inside guillemets and before high punctuation; a line
    must never start with one of these signs nor end with «.
    """
    return _TIGHT_RE.sub(lambda m: f"{m.group(1)}\u00a0" if m.group(1)
                         else f"\u00a0{m.group(2)}", text)


def wrap(text: str, width: int = WIDTH, first: str = "", rest: str = "") -> str:
    """Fill ``text`` to ``width`` columns without ever breaking a word or a URL."""
    words = _SPACE_RE.sub(" ", tie_punctuation(text)).strip()
    width = max(width, MIN_WIDTH, len(first) + 1, len(rest) + 1)  # textwrap needs room
    return textwrap.fill(words, width=width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or first.rstrip()
