"""Hostile input against delivery: headers, SMTP data, addresses, provider templating.

Each test plays an attack of issue 10 against the sending side alone, bypassing
`check` (an edition is built or altered directly), so that the defence of the
delivery code holds on its own.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infolettre.cli import cli
from infolettre.delivery.journal import Journal
from infolettre.delivery.message import MessageFactory, Recipient
from infolettre.delivery.mime import wire_safe
from infolettre.delivery.send import send_campaign, send_proofs
from infolettre.delivery.transports import Envelope, from_dsn
from infolettre.delivery.transports.smtp import _wire
from infolettre.edition.build import build_edition, load_publishable
from infolettre.edition.ready import ReadyEdition
from infolettre.store import Store

from ..providers import FAKES, dsn
from ..sending import edition, populate, sending_config
from ..smtpfake import FakeSmtp, Script

pytestmark = pytest.mark.hostile

#: The subject of the issue: end the data, then open a second envelope to another address.
SMUGGLE = "x\r\n.\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<s@evil.org>\r\nDATA\r\n"
FAST = {"retry_base": 0.01}


def _hostile_edition(config, subject: str = SMUGGLE) -> ReadyEdition:
    """The sample edition with the payload in its subject and in its text part."""
    base = edition(config)
    return dataclasses.replace(base, subject=subject, text=SMUGGLE + base.text + "\n.\n" + SMUGGLE)


def _header_block(message: bytes) -> bytes:
    return message.partition(b"\r\n\r\n")[0]


def _well_formed_headers(block: bytes) -> None:
    """Every line is CRLF-ended, and is a ``Name:`` line or a folded continuation."""
    assert wire_safe(block + b"\r\n")
    for line in block.split(b"\r\n"):
        assert re.match(rb"^([!-9;-~]+:|[ \t])", line), line


# -- item 1: header and SMTP command injection -------------------------------------------

@pytest.mark.parametrize("pipelining", [True, False])
def test_a_subject_cannot_open_a_second_smtp_envelope(tmp_path: Path, pipelining: bool) -> None:
    """The campaign's event loop: the server gets the intended envelopes and nothing else."""
    config = sending_config(tmp_path)
    addresses = populate(config, 3)
    with FakeSmtp(Script(pipelining=pipelining)) as smtp:
        summary = send_campaign(_hostile_edition(config), config, from_dsn(smtp.dsn()), **FAST)
        got = list(smtp.handler.messages)
        senders = list(smtp.handler.senders)
    assert sorted(rcpt for rcpt, _ in got) == sorted(addresses)
    assert set(senders) == {config.envelope_from}
    assert summary.counts["sent"] == 3 and not summary.troubles
    for _, raw in got:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
        assert "RCPT TO:<s@evil.org>" in message["Subject"]  # shown, blanked, not obeyed
        text = message.get_body(("plain",)).get_content()
        assert "RCPT TO:<s@evil.org>" in text and "\n.\n" in text.replace("\r\n", "\n")


def test_proofs_cannot_smuggle_a_command_through_the_blocking_session(tmp_path: Path) -> None:
    """`send --test` goes through the blocking session: same defence, for content and address."""
    config = sending_config(tmp_path)
    evil_address = "ok@example.org>\r\nRCPT TO:<s@evil.org"
    with FakeSmtp() as smtp:
        results = send_proofs(_hostile_edition(config), config, from_dsn(smtp.dsn()),
                              ["proof@example.org", evil_address])
        got = [rcpt for rcpt, _ in smtp.handler.messages]
    assert got == ["proof@example.org"]
    assert results[0][1].outcome.value == "sent"
    assert results[1][1].outcome.value == "failed"
    assert "not an address" in results[1][1].detail


@pytest.mark.parametrize("channel", [True, False])
def test_the_smtp_transport_itself_refuses_an_address_that_is_a_command(channel: bool) -> None:
    """Below the factory: an envelope whose address holds CR/LF is never written."""
    data = b"Subject: x\r\n\r\nhello\r\n"
    evil = Envelope("bounces@example.org", "a@b.org>\r\nRCPT TO:<s@evil.org", data)
    fine = Envelope("bounces@example.org", "ok@example.org", data)
    with FakeSmtp() as smtp:
        transport = from_dsn(smtp.dsn())
        if channel:
            results = []
            for envelope in (evil, fine):
                link = transport.open_channel()
                link.start(envelope)
                result = link.advance()
                while result is None:
                    result = link.advance()
                results.append(result)
                link.quit()
        else:
            session = transport.open()
            results = [session.send(evil), session.send(fine)]
            session.close()
        smtp.wait_for(1)
        got = [rcpt for rcpt, _ in smtp.handler.messages]
    assert [r.outcome.value for r in results] == ["failed", "sent"]
    assert "cannot be written in an SMTP command" in results[0].detail
    assert got == ["ok@example.org"]


def test_an_address_with_a_line_break_never_reaches_rcpt_in_a_campaign(tmp_path: Path) -> None:
    """A row whose address holds CR/LF (written straight into the database) fails alone."""
    config = sending_config(tmp_path)
    populate(config, 2)
    with sqlite3.connect(config.db) as db:
        db.execute("UPDATE subscribers SET email = ? WHERE email = 'abonne00001@example.org'",
                   ("abonne00001@example.org>\r\nRCPT TO:<s@evil.org",))
    with FakeSmtp() as smtp:
        summary = send_campaign(edition(config), config, from_dsn(smtp.dsn()), **FAST)
        got = [rcpt for rcpt, _ in smtp.handler.messages]
    assert got == ["abonne00000@example.org"]
    assert summary.counts["failed"] == 1 and summary.counts["in_doubt"] == 0
    [(_, state, _, detail)] = summary.troubles
    assert state == "failed" and "not built" in detail


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=st.text(min_size=0, max_size=300),
       name=st.text(max_size=120),
       sender_name=st.text(max_size=80),
       list_id=st.text(max_size=60))
def test_the_header_writer_never_emits_a_bare_line_break(subject: str, name: str,
                                                         sender_name: str, list_id: str) -> None:
    """Any subject, recipient name, sender name or List-Id: no traceback, well-formed lines."""
    config = sending_config(Path("/nonexistent"), list_id=list_id or "x",
                            sender=f'"{sender_name}" <infolettre@example.org>',
                            reply_to=f"{sender_name} <reply@example.org>")
    built = ReadyEdition("2018-06", subject, "fr", "<p>.\r\n.x</p>", ".\n..\r.\n", "", "", ())
    factory = MessageFactory(built, config, "2018-06", b"k" * 32)
    message = factory.build(Recipient(1, "abonne@example.org", name))
    _well_formed_headers(_header_block(message))
    assert wire_safe(message)


@pytest.mark.parametrize("name", ["\n", "Marie\n", "Jean-Luc\r\n"])
def test_a_name_ending_in_a_line_break_is_encoded_not_refused(name: str) -> None:
    """``$`` matches before a final newline: the plain-name test must not let one through."""
    config = sending_config(Path("/nonexistent"))
    built = ReadyEdition("2018-06", "s", "fr", "<p>a</p>", "a", "", "", ())
    message = MessageFactory(built, config, "2018-06", b"k" * 32).build(
        Recipient(1, "a@example.org", name))
    _well_formed_headers(_header_block(message))
    assert wire_safe(message)


def test_a_long_subject_with_cr_lf_and_nul_is_folded_not_a_traceback() -> None:
    config = sending_config(Path("/nonexistent"))
    subject = ("Nouvelles du réseau " * 6) + "\r\n.\r\nMAIL FROM:<a@b.org>\x00\r\n" + "x" * 90
    built = ReadyEdition("2018-06", subject, "fr", "<p>a</p>", "a", "", "", ())
    message = MessageFactory(built, config, "2018-06", b"k" * 32).build(Recipient(1, "a@b.org"))
    _well_formed_headers(_header_block(message))
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert "MAIL FROM:<a@b.org>" in parsed["Subject"] and "\x00" not in parsed["Subject"]


def test_data_that_is_not_proven_safe_is_normalised_and_dot_stuffed() -> None:
    """A lone LF or CR could end the data for a lenient server: every line end becomes CRLF."""
    data = b"Subject: x\n\nhello\n.\nMAIL FROM:<a@b.org>\r.\rDATA\r\n.\r\n"
    wire = _wire(Envelope("b@example.org", "a@example.org", data))
    assert wire.count(b"\r\n") == wire.count(b"\n") == wire.count(b"\r")
    assert b"\r\n.\r\n" not in wire and b"\r\n..\r\n" in wire


def test_send_test_refuses_an_address_with_a_line_break(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INFOLETTRE_TRANSPORT", f"outbox://{tmp_path / 'outbox'}")
    from ..conftest import SAMPLE

    result = CliRunner().invoke(cli, ["send", str(SAMPLE), "--test",
                                      "a@b.org\r\nRCPT TO:<s@evil.org>"])
    assert result.exit_code == 2, result.output
    assert "not an email address" in result.output
    assert not (tmp_path / "outbox" / "new").exists() or not any(
        (tmp_path / "outbox" / "new").iterdir())


# -- item 5: international and unbuildable addresses ------------------------------------

def _odd_list(config) -> tuple[list[str], dict[str, str]]:
    """Good addresses, an IDN domain, a non-ASCII local part, and one no message can carry."""
    good = populate(config, 3)
    odd = {"jose@exämple.com": "jose@xn--exmple-cua.com",
           "josé@exämple.com": "josé@xn--exmple-cua.com"}
    with Store(config.db) as store, store.transaction():
        for address in odd:
            store.insert(address, consent_source="test")
    with sqlite3.connect(config.db) as db:  # what no import would let in
        db.execute("INSERT INTO subscribers (email, name, lang, centre, country, status, "
                   "consent_source, consent_at, created_at, updated_at) VALUES "
                   "(?, '', 'fr', '', '', 'active', 'test', '2018-06-01', '2018-06-01', "
                   "'2018-06-01')", ("bad\x00@exa mple.org",))
    return good, odd


@pytest.mark.parametrize("smtputf8", [True, False])
def test_one_idn_or_odd_address_does_not_stop_the_campaign(tmp_path: Path,
                                                           smtputf8: bool) -> None:
    config = sending_config(tmp_path)
    good, odd = _odd_list(config)
    with FakeSmtp(smtputf8=smtputf8) as smtp:
        summary = send_campaign(edition(config), config, from_dsn(smtp.dsn()), **FAST)
        delivered = dict(smtp.handler.messages)
        options = dict(smtp.handler.mail_options)
        again = send_campaign(edition(config), config, from_dsn(smtp.dsn()), **FAST)
    expected = [*good, odd["jose@exämple.com"]] + ([odd["josé@exämple.com"]] if smtputf8 else [])
    assert sorted(delivered) == sorted(expected)
    assert summary.counts["in_doubt"] == 0 and again.recovered_in_doubt == 0
    assert summary.counts["sent"] == len(expected)
    troubles = {address: (state, detail) for address, state, _, detail in summary.troubles}
    assert troubles.pop("bad\x00@exa mple.org")[0] == "failed"
    if smtputf8:
        assert "SMTPUTF8" in options[odd["josé@exämple.com"]]
        to = email.message_from_bytes(delivered[odd["josé@exämple.com"]],
                                      policy=email.policy.default)["To"]
        assert to == odd["josé@exämple.com"]
    else:
        state, detail = troubles.pop("josé@exämple.com")
        assert state == "failed" and "SMTPUTF8" in detail
    assert not troubles


def test_odd_addresses_through_the_outbox_and_an_api(tmp_path: Path) -> None:
    """The worker threads (outbox) and a provider: the same rules, row by row."""
    config = sending_config(tmp_path)
    good, odd = _odd_list(config)
    summary = send_campaign(edition(config), config, from_dsn(config.transport), **FAST)
    assert summary.counts["sent"] == len(good) + 2 and summary.counts["failed"] == 1
    config = sending_config(tmp_path / "api")
    (tmp_path / "api").mkdir()
    good, odd = _odd_list(config)
    fake = FAKES["brevo"]()
    transport = from_dsn(dsn("brevo"), http=httpx.MockTransport(fake))
    summary = send_campaign(edition(config), config, transport, **FAST)
    assert sorted(fake.counts) == sorted([*good, odd["jose@exämple.com"]])
    troubles = {address: state for address, state, _, _ in summary.troubles}
    assert troubles == {"josé@exämple.com": "failed", "bad\x00@exa mple.org": "failed"}
    assert summary.counts["in_doubt"] == 0


# -- item 10: provider templating in contributor text -----------------------------------

#: Every syntax a provider (or InfoLettre) would expand, written by a contributor.
SYNTAXES = ["{{params.unsubscribe_url}}", "{{ contact.EMAIL }}", "{% if x %}hidden{% endif %}",
            "{# note #}", "%recipient.unsubscribe_url%", "%recipient%", "%unsubscribe_url%",
            "-email-", "%%unsubscribe_url%%", "%%web_url%%", "<%asm_group_unsubscribe_raw_url%>"]
TRAP_LINK = "lien-piege"


class _Reader(HTMLParser):
    """What a reader of the HTML part sees: its text, and where its links go."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: dict[str, str] = {}
        self._href: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)
            if self._href is not None and data.strip():
                self.links[data.strip()] = self._href
                self._href = None


def _seen(html: str) -> tuple[str, dict[str, str]]:
    reader = _Reader()
    reader.feed(html)
    return "".join(reader.text), reader.links


@pytest.fixture(scope="module")
def templated_edition(tmp_path_factory) -> ReadyEdition:
    """The sample issue with a news item carrying every syntax, as text and as a link."""
    import shutil

    from ..conftest import ROOT

    root = tmp_path_factory.mktemp("templated")
    shutil.copytree(ROOT / "issues", root / "issues")
    news = root / "issues" / "2018-06" / "news" / "charleroi-album-jeunesse.md"
    lines = "\n\n".join(f"Piège {n} : `{s}` et {s}" for n, s in enumerate(SYNTAXES))
    news.write_text(news.read_text(encoding="utf-8") + "\n\n" + lines
                    + f"\n\n[{TRAP_LINK}](%%unsubscribe_url%%)\n", encoding="utf-8")
    config = sending_config(root)
    built = build_edition(load_publishable(root / "issues" / "2018-06", config), config)
    return dataclasses.replace(built, subject="Sujet {{ contact.EMAIL }} %recipient% "
                               "%%unsubscribe_url%%")


def _assert_literal(delivery: dict, address: str) -> None:
    seen, links = _seen(delivery["html"])
    text = delivery["text"].replace("\u2060", "")  # WORD JOINER: invisible, no width
    for syntax in SYNTAXES:
        assert syntax in seen, (syntax, "html")
        assert syntax in text, (syntax, "text")
    assert links[TRAP_LINK].endswith("/%%unsubscribe_url%%")
    assert address not in seen and address not in text  # no reader sees their own address
    if "subject" in delivery:
        assert delivery["subject"].replace("\u2060", "") == ("Sujet {{ contact.EMAIL }} "
                                                             "%recipient% %%unsubscribe_url%%")


@pytest.mark.parametrize("provider", sorted(FAKES))
def test_each_provider_delivers_contributor_templating_literally(
        tmp_path: Path, provider: str, templated_edition: ReadyEdition) -> None:
    config = sending_config(tmp_path)
    addresses = populate(config, 2)
    fake = FAKES[provider]()
    transport = from_dsn(dsn(provider), http=httpx.MockTransport(fake))
    summary = send_campaign(templated_edition, config, transport, **FAST)
    assert summary.counts["sent"] == 2
    for delivery in fake.delivered:
        _assert_literal(delivery, delivery["to"])
        links = _seen(delivery["html"])[1]  # the template's own link is still personal
        assert any("/unsubscribe/" in href for href in links.values())
    assert sorted(fake.counts) == addresses


def test_smtp_and_outbox_fill_only_the_templates_placeholders(
        tmp_path: Path, templated_edition: ReadyEdition) -> None:
    """InfoLettre's own filling: the contributor's %%unsubscribe_url%% stays as written."""
    config = sending_config(tmp_path)
    populate(config, 1)
    with FakeSmtp() as smtp:
        send_campaign(templated_edition, config, from_dsn(smtp.dsn()), **FAST)
        [(address, raw)] = smtp.handler.messages
    message = email.message_from_bytes(raw, policy=email.policy.default)
    delivery = {"html": message.get_body(("html",)).get_content(),
                "text": message.get_body(("plain",)).get_content()}
    _assert_literal(delivery, address)
    with Store(config.db) as store:
        assert Journal(store).counts(Journal(store).find("2018-06").id)["sent"] == 1
