"""mime: the hand-written quoted-printable encoding, with the standard library as the oracle.

The encoder runs on ``email.quoprimime`` (undocumented) for the static pieces and
on its own loop for the personal values; what it writes must decode, with
``quopri`` and with ``email``'s parser, to exactly the text given: non-ASCII,
long lines, lines starting with '.' or ``From ``, blanks at line ends. And
every line it writes stays within RFC 2045's 76 characters and is safe after an
SMTP DATA (no line starting with '.').
"""

from __future__ import annotations

import email
import email.policy
import quopri
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infolettre.delivery.message import MessageFactory, Recipient
from infolettre.delivery.mime import Body, join, plain, qp_piece, qp_value, wire_safe
from infolettre.edition.ready import ReadyEdition

from ..sending import sending_config

#: Pieces a line is made of: the hard cases side by side with ordinary text.
_BITS = st.one_of(
    st.sampled_from([".", "..", "From ", ">From ", "=", "=3D", "=\n", " ", "\t", "  \t ",
                     "é", "€", "𝄞", "\u00a0", "\u2028", "\x85", "\x0c", "%", "x" * 80,
                     "mot ", "https://example.org/a?b=c&d=é"]),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20))
_LINES = st.lists(st.lists(_BITS, max_size=12).map("".join), max_size=8)
_EOLS = st.sampled_from(["\n", "\r\n"])


def _text(lines: list[str], eol: str) -> str:
    """Lines joined with ``eol``, none holding a line break of its own."""
    return eol.join(re.sub(r"\r\n|\r|\n", " ", line) for line in lines)


def _lines_ok(encoded: bytes) -> None:
    assert wire_safe(encoded), encoded
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n")), encoded
    assert not re.search(rb"[ \t]\r\n|[ \t]$", encoded), encoded  # decoders drop those
    assert all(33 <= b <= 126 or b in b" \t\r\n" for b in encoded)


@settings(max_examples=300, deadline=None)
@given(lines=_LINES, eol=_EOLS, final=st.booleans())
def test_a_static_piece_decodes_to_its_text(lines: list[str], eol: str, final: bool) -> None:
    text = _text(lines, eol) + (eol if final else "")
    encoded = qp_piece(text.replace("\r\n", "\n").replace("\n", "\r\n"))
    _lines_ok(encoded)
    assert quopri.decodestring(encoded) == text.replace("\r\n", "\n").replace(
        "\n", "\r\n").encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(), st.lists(_BITS, max_size=20).map("".join)))
def test_a_personal_value_decodes_to_every_byte_of_it(value: str) -> None:
    encoded = qp_value(value)
    _lines_ok(encoded)
    assert quopri.decodestring(encoded) == value.encode("utf-8")


def test_the_hard_lines_are_encoded_where_they_must_be() -> None:
    """What the properties rely on, seen once: '.' encoded at a line start, a blank at a
    line end encoded, non-ASCII as its UTF-8 bytes, long lines softly broken."""
    text = ".début\r\nFrom here  \r\n" + "é" * 60 + "\r\n"
    encoded = qp_piece(text)
    assert encoded.startswith(b"=2E")
    assert b"From here =20\r\n" in encoded and b"=C3=A9" in encoded
    assert b"=\r\n" in encoded  # 60 é are 360 characters encoded: more than one line
    assert qp_value(".x y") == b"=2Ex=20y"


@settings(max_examples=100, deadline=None)
@given(lines=_LINES, eol=_EOLS)
def test_a_notice_body_reads_back_through_the_email_parser(lines: list[str], eol: str) -> None:
    text = _text(lines, eol) + eol
    body = plain(text)
    head = b"MIME-Version: 1.0\r\n" + b"\r\n".join(body.headers) + b"\r\n"
    raw = join([head], body, [])
    assert wire_safe(raw)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.get_content() == text.replace("\n", "\r\n").replace("\r\r", "\r")


_PLACEHOLDER = st.sampled_from(["%%unsubscribe_url%%", "%%preferences_url%%", "%%web_url%%"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.one_of(_BITS, _PLACEHOLDER, st.just("\n")), max_size=30),
       web_url=st.one_of(st.just(""), st.text(max_size=40), st.lists(_BITS, max_size=6)
                         .map("".join)))
def test_a_campaign_message_reads_back_with_its_values(tmp_path: Path, pieces: list[str],
                                                       web_url: str) -> None:
    """Static pieces and personal values side by side, in both parts: the parser gives
    back each part's text with the recipient's values where the placeholders were."""
    config = sending_config(tmp_path)
    text = "".join(pieces)
    html = "<p>" + text + "</p>"
    edition = ReadyEdition("2018-06", "Sujet", "fr", html, text, "", "", ())
    factory = MessageFactory(edition, config, "2018-06", b"k" * 32,
                             web_url=web_url.replace("\r", " ").replace("\n", " ") or None)
    recipient = Recipient(3, "zoé@example.org", "Zoë")
    raw = factory.build(recipient)
    body = raw.partition(b"\r\n\r\n")[2]
    _lines_ok(body)
    values = factory.outgoing(recipient).values
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for kind, source in (("plain", text), ("html", html)):
        expected = re.sub(r"%%(\w+)%%", lambda m: values[m.group(1)], source)
        got = message.get_body((kind,)).get_content()
        assert got == re.sub(r"\r\n|\r|\n", "\r\n", expected), kind


def test_body_is_what_join_assembles() -> None:
    body = Body((b"Content-Type: text/plain",), (b"a=\r\n", b"=\r\nb\r\n"), ("web_url",))
    assert join([b"H: 1\r\n"], body, [b"V"]) == b"H: 1\r\n\r\na=\r\nV=\r\nb\r\n"
