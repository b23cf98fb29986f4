"""Per-recipient values as placeholders that survive rendering and CSS inlining.

The edition is rendered and inlined once; sending then substitutes these tokens
in the bytes for each recipient. The token syntax, ``%%name%%``, is left alone by
Jinja2, Markdown, nh3, premailer and lxml's serialiser (``{{ … }}`` is not: lxml
percent-escapes braces and spaces inside ``href``).

Only the templates may place them. Contributor text is free to contain
``%%unsubscribe_url%%``, so rendering hands the templates tokens that carry a
nonce no text can foresee (``%%unsubscribe_url.NONCE%%``, see :func:`marked`), and
:func:`seal` then writes every other ``%%`` inert before turning the marked
tokens into the plain ones that sending fills. A contributor's ``%%…%%``, in
text or in a link, is thus shown as written and never filled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["NAMES", "PREFERENCES_URL", "UNSUBSCRIBE_URL", "WEB_URL", "fill", "marked", "new_nonce",
           "seal", "split", "token"]

#: Names of the values every edition may hold.
NAMES = ("unsubscribe_url", "preferences_url", "web_url")

_TOKEN_RE = re.compile(r"%%(" + "|".join(NAMES) + r")%%")
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


def new_nonce() -> str:
    """A fresh nonce for one rendering (random: it never reaches the output)."""
    import secrets

    return secrets.token_hex(12)


def marked(name: str, nonce: str) -> str:
    """The token a template places for ``name`` during a rendering with ``nonce``."""
    return f"%%{name}.{nonce}%%" if name in NAMES else token(name)


#: A percent sign that another follows, written so that no ``%%`` is left: in HTML as a
#: character reference (the reader sees "%"; no HTML is parsed again after inlining),
#: in text followed by U+2060 WORD JOINER (invisible, no width, no line break).
_INERT = {True: "&#37;", False: "%\u2060"}
_PERCENT_PAIR_RE = re.compile(r"%(?=%)")


def seal(text: str, nonce: str, *, html: bool) -> str:
    """``text`` rendered with ``nonce``: the marked tokens as plain placeholders, and
    every other ``%%`` inert, so that only the template's placeholders are ever filled.

    Each piece between marked tokens loses all its ``%%`` pairs, which also keeps a
    piece's trailing ``%%name`` from joining the ``%%`` of the token after it.
    """
    if not nonce:
        raise ValueError("seal needs the nonce of the rendering")
    names = "|".join(NAMES)
    chunks = re.split(r"%%(" + names + r")\." + re.escape(nonce) + "%%", text)
    inert = _INERT[html]
    out = []
    for n, chunk in enumerate(chunks):
        out.append(token(chunk) if n % 2 else _PERCENT_PAIR_RE.sub(inert, chunk))
    return "".join(out)


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace every placeholder in ``text`` with its value, in one pass.

    The values must be safe in every place a placeholder stands (URLs are:
    they hold no quote, ``<`` or ``&`` once built by this project). A name
    without a value is left as it is.
    """
    return _TOKEN_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)
