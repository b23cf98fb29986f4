"""MIME assembly: quoted-printable bodies around personal values, proven safe for SMTP.

A body is prepared once as static bytes around the names of its personal
values (:class:`Body`): each static piece is encoded (quoted-printable, CRLF)
once, and for one message the only work left is to encode the few values and
join the pieces (:func:`join`): string work, no MIME library. Each value
starts and ends with a soft line break, so every line stays within RFC 2045's
76 characters whatever its length.

Every line starting with '.' is written ``=2E``, so a message can follow an
SMTP DATA as it is (:func:`wire_safe`): no dot-stuffing, nothing that ends the
data early. Campaigns (``message``) and service notices (``notices``) are
assembled here, the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import quoprimime

from ..edition import placeholders

__all__ = ["CRLF", "Body", "alternative", "join", "plain", "qp_piece", "qp_value",
           "wire_safe"]

CRLF = b"\r\n"


def wire_safe(chunk: bytes) -> bool:
    """True when ``chunk``, placed at the start of a line, may follow an SMTP DATA as it is:
    no line of it starts with '.', and CR and LF only come as CRLF pairs.

    What the assembled messages are proved to be, so that SMTP sends them
    without dot-stuffing and nothing in them can end the data early.
    """
    pairs = chunk.count(b"\r\n")
    return (not chunk.startswith(b".") and b"\r\n." not in chunk
            and chunk.count(b"\r") == pairs and chunk.count(b"\n") == pairs)


def _no_leading_dots(encoded: bytes) -> bytes:
    """Write a '.' that starts a line as '=2E', so the message never needs dot-stuffing.

    SMTP doubles a line's leading dot on the wire; encoding it instead lets the
    transport send the prepared bytes as they are (and QP decodes it back).
    """
    encoded = encoded.replace(b"\r\n.", b"\r\n=2E")
    return b"=2E" + encoded[1:] if encoded.startswith(b".") else encoded


def qp_piece(text: str) -> bytes:
    """Quoted-printable for a static piece (line breaks as CRLF hard breaks); lines <= 73,
    so a soft break and a '=2E' fit."""
    latin = text.encode("utf-8").decode("latin-1")  # quoprimime works on byte values
    return _no_leading_dots(quoprimime.body_encode(latin, maxlinelen=73, eol="\r\n")
                            .encode("ascii"))


_PLAIN_URL_RE = re.compile(r"^[!-<>-~]+\Z")  # printable ASCII but '=': nothing to escape


def qp_value(value: str) -> bytes:
    """Quoted-printable for a personal value, in lines of at most 76 characters; every
    byte of it kept, line breaks included (as ``=0D=0A``)."""
    if _PLAIN_URL_RE.match(value):  # the usual case: a URL, cut in lines of 73
        lines = [value[i:i + 73] for i in range(0, len(value), 73)]
        return _no_leading_dots("=\r\n".join(lines).encode("ascii"))
    out, line = [], ""
    for byte in value.encode("utf-8"):
        char = chr(byte)
        piece = char if 33 <= byte <= 126 and char != "=" else f"={byte:02X}"
        if len(line) + len(piece) > 72:
            out.append(line + "=")
            line = ""
        line += piece
    out.append(line)
    return _no_leading_dots("\r\n".join(out).encode("ascii"))


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _encoded_pieces(content: str) -> tuple[list[bytes], list[str]]:
    """A body part cut at its placeholders: its quoted-printable pieces, the names between."""
    pieces, names = placeholders.split(_crlf(content))
    return [qp_piece(piece) for piece in pieces], names


def _part_head(kind: str) -> bytes:
    return (f"Content-Type: text/{kind}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n").encode()


@dataclass(frozen=True)
class Body:
    """A message body as static bytes around personal values: statics[0], names[0],
    statics[1]…; ``headers`` are its Content-* header lines (no CRLF)."""

    headers: tuple[bytes, ...]
    statics: tuple[bytes, ...]
    names: tuple[str, ...]


def alternative(parts: Sequence[tuple[str, str]], boundary: str) -> Body:
    """A multipart/alternative body of ``(subtype, text)`` parts (``plain``, ``html``),
    each cut at its placeholders.

    Each value stands on lines of its own (soft line breaks around it), so the
    statics are quoted-printable encoded once per campaign.
    """
    statics = [b"This is a multipart message in MIME format."]
    names: list[str] = []
    for kind, content in parts:
        statics[-1] += f"\r\n--{boundary}\r\n".encode() + _part_head(kind) + CRLF
        pieces, part_names = _encoded_pieces(content)
        statics[-1] += pieces[0]
        for name, piece in zip(part_names, pieces[1:], strict=True):
            statics[-1] += b"=\r\n"
            names.append(name)
            statics.append(b"=\r\n" + piece)
    statics[-1] += f"\r\n--{boundary}--\r\n".encode()
    content_type = f'Content-Type: multipart/alternative; boundary="{boundary}"'.encode()
    return Body((content_type,), tuple(statics), tuple(names))


def plain(text: str) -> Body:
    """A text/plain body without personal values (a service notice): all of it static."""
    encoded = qp_piece(_crlf(text))
    if not encoded.endswith(CRLF):
        encoded += CRLF
    return Body(tuple(_part_head("plain").rstrip(CRLF).split(CRLF)), (encoded,), ())


def join(head: Sequence[bytes], body: Body, values: Sequence[bytes]) -> bytes:
    """A whole message: the ``head`` blocks (each CRLF-ended), the blank line, then the
    body's statics with the encoded ``values`` (in the order of ``body.names``) between."""
    chunks = [*head, CRLF, body.statics[0]]
    for value, static in zip(values, body.statics[1:], strict=True):
        chunks += (value, static)
    return b"".join(chunks)
