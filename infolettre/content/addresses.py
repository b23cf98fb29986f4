"""Addresses in contributor text: which are refused, which name a file beside the
text, and the public address of a file of the edition.

``public_url`` is the one place that address is worked out: the email and the web
page (``markup``, ``edition.render``) show an image at it, and ``send`` checks,
before sending, that it answers (``delivery.preflight``).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import quote, urljoin

from ..messages import say

__all__ = ["SCHEMES", "absolute", "allowed", "bad_image_src", "is_relative", "public_url"]

#: The schemes a link or an image of contributor text may have (the sanitiser's too).
SCHEMES = {"http", "https", "mailto"}
SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def public_url(base: str, path: str | PurePosixPath) -> str:
    """The address at which a file of the edition is served, ``path`` being where it
    is published relative to ``base`` (a folder's address, ending in ``/``).

    ``path`` is a file name as it is on disk and in the text, spaces and accents
    included: it is percent-encoded (UTF-8), since a space ends an address in a mail
    client and in the text part. The one place this address is worked out, so that
    the email, the web page and ``send``'s check of the images ask for the same one.
    """
    return urljoin(base, quote(str(path), safe="/"))


def absolute(url: str, base: str) -> str:
    """``url`` made absolute against ``base`` (a mail client has no base address);
    fragments and addresses with a scheme are left as they are."""
    url = url.strip()
    if not url or url.startswith("#") or SCHEME_RE.match(url):
        return url
    return urljoin(base, url)


def allowed(url: str) -> bool:
    """True for an absolute URL whose scheme the HTML sanitiser keeps too."""
    scheme = SCHEME_RE.match(url)
    return scheme is not None and scheme.group(0)[:-1].lower() in SCHEMES


def bad_image_src(src: str) -> str | None:
    """Why an image address is refused, or None: only http(s) and files beside the item.

    A ``javascript:``, ``data:``, ``file:``… image is active content or a leak in some
    mail client; a protocol-relative ``//host/x.png`` has no scheme in an email (clients
    guess one, some ``file:``), so it is refused too.
    """
    scheme = SCHEME_RE.match(src)
    if scheme:
        name = scheme.group(0)[:-1].lower()
        return None if name in ("http", "https") else say("part.address-scheme", scheme=name)
    if src.startswith("//"):
        return say("part.address-no-scheme")
    return None


def is_relative(url: str) -> bool:
    """True for a reference to a file beside the item (no scheme, no leading '/' or '#')."""
    return bool(url) and not SCHEME_RE.match(url) and not url.startswith(("/", "#"))
