"""Small text helpers every layer uses: address syntax, control characters, hints.

Kept apart from ``fields`` (which reads YAML documents) so that the
configuration, the transports and the subscriber commands load without the
content model's parsers: a command that never reads an issue starts faster.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["CONTROL_CLASS", "CONTROL_RE", "closest", "counted", "email_re", "is_email",
           "shown", "without_accents"]

#: Control characters: C0 (with tab, line feed, carriage return), DEL and C1, plus the
#: Unicode line and paragraph separators. A YAML double-quoted string can carry any of
#: them as an escape ("\r\n"), and one in a subject or a name could end a mail header.
CONTROL_CLASS = r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"
CONTROL_RE = re.compile(CONTROL_CLASS)


def counted(n: int, word: str) -> str:
    """``n`` and an English ``word``, plural unless ``n`` is 1 ("1 contact", "3
    contacts"): how the commands' English lines count things. What a contributor
    reads is said through the catalogues (``messages``), with CLDR's plurals."""
    return f"{n} {word}{'s' * (n != 1)}"


def without_accents(text: str) -> str:
    """``text`` lower case and without accents (``Métiers`` → ``metiers``), to compare names
    as people mistype them: a file name, a title's slug, a spreadsheet's header."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold())
                   if not unicodedata.combining(c))


def shown(text: str) -> str:
    """``text`` with its control characters written as escapes, safe to print in a message."""
    return CONTROL_RE.sub(lambda m: m.group(0).encode("unicode_escape").decode(), text)


@functools.cache
def email_re() -> re.Pattern[str]:
    """The syntax of an address (compiled on first use: its Unicode classes cost 7 ms)."""
    return re.compile(
        r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
        r"(?:[A-Za-z0-9\u00c0-\uffff](?:[A-Za-z0-9\u00c0-\uffff-]{0,61}"
        r"[A-Za-z0-9\u00c0-\uffff])?\.)+"
        r"[A-Za-z\u00c0-\uffff]{2,}$")


def is_email(value: str) -> bool:
    """True for a plausible address: one ``@``, no spaces, a domain with a dot.

    Nothing that could end or split a header or an SMTP command passes: no control
    character, no space or other separator, no invisible (format) character; the
    local part neither starts nor ends with a dot, and the sizes stay within
    RFC 5321's (64 characters before the ``@``, 254 in all).
    """
    if not isinstance(value, str) or len(value) > 254 or ".." in value:
        return False
    if any(unicodedata.category(c)[0] in "CZ" for c in value):  # Cc, Cf, Zs, Zl…
        return False
    if not email_re().fullmatch(value):
        return False
    local = value.rpartition("@")[0]
    return len(local) <= 64 and not local.startswith(".") and not local.endswith(".")


def closest(word: str, choices: list[str] | set[str], n: int = 3) -> list[str]:
    """The choices that look most like ``word`` (for "did you mean" hints)."""
    import difflib  # only when a hint is needed

    return difflib.get_close_matches(word.lower(), sorted(choices), n=n, cutoff=0.6)
