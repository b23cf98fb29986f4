"""Small text helpers every layer uses: address syntax, "did you mean" hints.

Kept apart from ``fields`` (which reads YAML documents) so that the
configuration, the transports and the subscriber commands load without the
content model's parsers: a command that never reads an issue starts faster.
"""

from __future__ import annotations

import functools
import re

__all__ = ["closest", "email_re", "is_email"]


@functools.cache
def email_re() -> re.Pattern[str]:
    """The syntax of an address (compiled on first use: its Unicode classes cost 7 ms)."""
    return re.compile(
        r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
        r"(?:[A-Za-z0-9\u00c0-\uffff](?:[A-Za-z0-9\u00c0-\uffff-]{0,61}"
        r"[A-Za-z0-9\u00c0-\uffff])?\.)+"
        r"[A-Za-z\u00c0-\uffff]{2,}$")


def is_email(value: str) -> bool:
    """True for a plausible address: one ``@``, no spaces, a domain with a dot."""
    return bool(email_re().match(value)) and ".." not in value and len(value) <= 254


def closest(word: str, choices: list[str] | set[str], n: int = 3) -> list[str]:
    """The choices that look most like ``word`` (for "did you mean" hints)."""
    import difflib  # only when a hint is needed

    return difflib.get_close_matches(word.lower(), sorted(choices), n=n, cutoff=0.6)
