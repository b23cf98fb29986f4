"""Per-recipient values as placeholders that survive rendering and CSS inlining.

The edition is rendered and inlined once; sending then substitutes these tokens
in the bytes for each recipient. The token syntax, ``%%name%%``, is left alone by
Jinja2, Markdown, nh3, premailer and lxml's serialiser (``{{ … }}`` is not: lxml
percent-escapes braces and spaces inside ``href``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import overload

__all__ = ["NAMES", "PREFERENCES_URL", "UNSUBSCRIBE_URL", "WEB_URL", "fill", "split", "token"]

#: Names of the values every edition may hold.
NAMES = ("unsubscribe_url", "preferences_url", "web_url")

_TOKEN_RE = re.compile(r"%%(" + "|".join(NAMES) + r")%%")
_TOKEN_RE_B = re.compile(_TOKEN_RE.pattern.encode())
_SPLIT_RE = re.compile(r"(%%(?:" + "|".join(NAMES) + r")%%)")


def split(text: str) -> tuple[list[str], list[str]]:
    """``text`` cut at its placeholders: the n+1 static pieces and the n names between.

    Whatever is done to the static pieces (encoding, escaping) can then be done
    once per edition, and only the values per recipient.
    """
    chunks = _SPLIT_RE.split(text)
    return chunks[0::2], [c.strip("%") for c in chunks[1::2]]


def token(name: str) -> str:
    """The placeholder for ``name`` (one of :data:`NAMES`)."""
    if name not in NAMES:
        raise KeyError(name)
    return f"%%{name}%%"


UNSUBSCRIBE_URL = token("unsubscribe_url")
PREFERENCES_URL = token("preferences_url")
WEB_URL = token("web_url")


@overload
def fill(data: str, values: Mapping[str, str]) -> str: ...
@overload
def fill(data: bytes, values: Mapping[str, str]) -> bytes: ...
def fill(data: str | bytes, values: Mapping[str, str]) -> str | bytes:
    """Replace every placeholder in ``data`` with its value, in one pass.

    The values must be safe in every place a placeholder stands (URLs are:
    they hold no quote, ``<`` or ``&`` once built by this project). A name
    without a value is left as it is.
    """
    if isinstance(data, bytes):
        encoded = {k: v.encode() for k, v in values.items()}
        return _TOKEN_RE_B.sub(lambda m: encoded.get(m.group(1).decode(), m.group(0)), data)
    return _TOKEN_RE.sub(lambda m: values.get(m.group(1), m.group(0)), data)
