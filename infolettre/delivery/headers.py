"""Header lines and addresses, written so that no value can break a message.

Every value is hostile until written: a header value loses its control
characters (:func:`header_text`), an address must be one (:func:`encode_address`,
IDNA for its domain), and a header line is folded at spaces with non-ASCII text
as RFC 2047 encoded words (:func:`header`). Campaigns and service notices write
their headers here, the same way.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import re
from email.header import Header
from email.utils import formataddr, parseaddr

from ..errors import InfoLettreError
from ..words import CONTROL_CLASS

__all__ = ["AddressError", "configured_address", "configured_parts", "encode_address", "header",
           "header_text", "to_header"]


class AddressError(InfoLettreError):
    """An address that cannot be written in a message or an SMTP command."""


#: Runs of control characters (``words.CONTROL_CLASS``: the ones check refuses).
_CONTROL_RE = re.compile(CONTROL_CLASS + "+")


def header_text(value: str) -> str:
    """``value`` fit for one header line: each run of control characters (CR, LF, NUL…)
    becomes one space, so that no value can end its header or start another."""
    return _CONTROL_RE.sub(" ", value).strip() if _CONTROL_RE.search(value) else value


#: What an address may not hold outside quotes: controls, blanks, and the characters
#: that delimit addresses in headers and commands.
_BAD_ADDRESS_RE = re.compile("[\x00-\x20\x7f-\x9f\u2028\u2029<>()\\[\\],;:\"\\\\]")


@functools.lru_cache(maxsize=4096)
def _idna_domain(domain: str) -> str:
    import idna  # IDNA 2008 with UTS #46 mapping (Python's own codec is IDNA 2003)

    return idna.encode(domain, uts46=True).decode("ascii")


def encode_address(address: str) -> tuple[str, bool]:
    """``address`` as it is written in headers and SMTP commands, and whether it needs
    SMTPUTF8 (RFC 6531) because its local part is not ASCII.

    The domain is written in IDNA A-labels (``exämple.com`` as
    ``xn--exmple-cua.com``), which every server and API takes. Raises
    AddressError, with the reason, for what cannot be an address.
    """
    local, _, domain = address.rpartition("@")
    if not local or not domain or "@" in local or _BAD_ADDRESS_RE.search(address):
        raise AddressError(f"{header_text(address)!r} is not an address that can be written "
                           "in a message")
    if address.isascii():
        return address, False
    if not domain.isascii():
        try:
            domain = _idna_domain(domain)
        except (UnicodeError, ValueError) as exc:  # idna.IDNAError is a UnicodeError
            raise AddressError(f"the domain of {address} is not a valid international "
                               f"domain name (IDNA): {exc}") from None
    return f"{local}@{domain}", not local.isascii()


def header(name: str, value: str) -> bytes:
    """A header line, folded at spaces; non-ASCII text as RFC 2047 encoded words.

    Any value, however long and whatever it holds: control characters are
    blanked first (:func:`header_text`), so the line cannot be ended or split
    by its value.
    """
    value = header_text(value)
    if value.isascii() and len(name) + len(value) < 76:
        return f"{name}: {value}".encode("ascii")
    charset = "us-ascii" if value.isascii() else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(maxlinelen=76)
    return f"{name}: {encoded}".replace("\n", "\r\n").encode("ascii")


_PLAIN_NAME_RE = re.compile(r"^[A-Za-z0-9 .'-]*\Z")


def to_header(name: str, address: str) -> bytes:
    """``To: Name <address>``; names outside plain ASCII as one RFC 2047 base64 word.

    ``address`` is already encoded (:func:`encode_address`): ASCII, or UTF-8
    for an SMTPUTF8 local part (RFC 6532). Per recipient, so it avoids
    email.header's general (and slower) machinery for the usual short name; a
    long one still goes through it.
    """
    if not name:
        return f"To: {address}".encode()
    if _PLAIN_NAME_RE.match(name):
        quoted = f'"{name}"' if "." in name or "'" in name else name
        return f"To: {quoted} <{address}>".encode()
    name = header_text(name)
    encoded = base64.b64encode(name.encode("utf-8")).decode("ascii")
    if len(encoded) <= 60 or not address.isascii():
        return f"To: =?utf-8?b?{encoded}?= <{address}>".encode()
    return header("To", formataddr((name, address), charset="utf-8"))


def configured_parts(value: str) -> tuple[str, str]:
    """A configured address (``Name <addr>``) as an API takes it, in two fields: the
    display name as written (not RFC 2047 encoded words), the domain in IDNA."""
    name, address = parseaddr(header_text(value))
    with contextlib.suppress(AddressError):  # else as it is, blanked: `config check` says
        address = encode_address(address)[0]
    return name, address


def configured_address(value: str) -> str:
    """A configured address (``Name <addr>``) for a header: name encoded, domain in IDNA."""
    try:
        return formataddr(configured_parts(value), charset="utf-8")
    except UnicodeError:  # an address outside ASCII: the header encodes the whole text
        return header_text(value)
