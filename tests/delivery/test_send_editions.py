"""send: one campaign per issue, each subscriber in the edition of their language.

The issue here has three editions (fr, the source; en; es) made from a copy of
the sample (``tests.sending.translated_issue``): an ``en`` subscriber gets the
English edition, an ``es`` one the Spanish, a language without an edition the
first of its fallback chain the issue has, else French; the journal records the
edition of every row, and a resumed campaign sends each row in that edition.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from infolettre.config import Database
from infolettre.content.editions import chain
from infolettre.delivery.journal import Journal
from infolettre.delivery.send import route, send_campaign
from infolettre.delivery.transports import from_dsn
from infolettre.errors import InfoLettreError
from infolettre.store import Store

from ..providers import FAKES, dsn
from ..sending import SUBJECTS, editions, populate, sending_config, translated_issue
from ..smtpfake import FakeSmtp

FAST = {"retry_base": 0.01}
FRENCH = "InfoLettre du Réseau des Cités des métiers — juin 2018"


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _outbox(folder: Path) -> dict[str, EmailMessage]:
    """The outbox's messages by recipient address (one each, or the test fails)."""
    messages: dict[str, EmailMessage] = {}
    for path in (folder / "outbox" / "new").iterdir():
        message = _parse(path.read_bytes())
        address = message["To"].addresses[0].addr_spec
        assert address not in messages, f"{address} got two messages"
        messages[address] = message
    return messages


def _langs(config) -> dict[str, str]:
    with Store(config.db) as store:
        return {s.email: s.lang for s in store.select()}


def _recorded(config) -> dict[str, str]:
    """The edition the journal records for each subscriber's row."""
    with Store(config.db) as store:
        return dict(store.conn.execute(
            "SELECT s.email, d.edition FROM deliveries d JOIN subscribers s "
            "ON s.id = d.subscriber_id").fetchall())


def _check(message: EmailMessage, lang: str) -> None:
    """``message`` is the edition ``lang``: its language, subject, footer and links."""
    assert message["Content-Language"] == lang
    assert message["Subject"] == SUBJECTS.get(lang, FRENCH)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    footer = {"fr": "Se désinscrire", "en": "Unsubscribe", "es": "Darse de baja"}[lang]
    assert footer in text and footer in html
    assert f"/infolettre/{lang}/2018-06/" in text  # the edition's own web page
    assert "/unsubscribe/" in text and "/preferences/" in text and "%%" not in text
    assert f'lang="{lang}"' in html


def test_each_subscriber_gets_the_edition_of_their_language(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db, fallback={"pt": ("es",)})
    addresses = populate(config, 10, langs=("fr", "en", "es", "pt", "it"))
    summary = send_campaign(editions(config), config, from_dsn(config.transport))
    assert summary.counts["sent"] == 10
    expected = {"fr": "fr", "en": "en", "es": "es", "pt": "es", "it": "fr"}
    langs = _langs(config)
    messages = _outbox(tmp_path)
    assert set(messages) == set(addresses)
    for address, message in messages.items():
        _check(message, expected[langs[address]])
    assert _recorded(config) == {a: expected[langs[a]] for a in addresses}
    assert summary.sent_by_edition == {"fr": 4, "en": 2, "es": 4}
    assert {lang: c["sent"] for lang, c in summary.by_edition.items()} == {
        "fr": 4, "en": 2, "es": 4}


def test_the_route_is_the_fallback_chain_of_the_content(tmp_path: Path) -> None:
    """A subscriber's edition is the first language of ``content.editions.chain`` the
    issue has an edition in: the chain the edition itself was made by."""
    from infolettre.edition.build import load_publishable

    config = sending_config(tmp_path, fallback={"pt": ("it", "es"), "ca": ("es",)})
    issue = load_publishable(translated_issue(tmp_path), config)
    eds = editions(config)
    edition_of = route(eds, config)
    for lang in ("fr", "en", "es", "pt", "ca", "it", "de"):
        assert edition_of(lang) == next(c for c in chain(lang, issue, config) if c in eds)
    assert [edition_of(lang) for lang in ("pt", "ca", "de")] == ["es", "es", "fr"]


@pytest.mark.parametrize("langs", [("fr", "en")])
def test_an_issue_of_two_editions_sends_the_others_the_source(tmp_path: Path, db: Database,
                                                              langs: tuple[str, ...]) -> None:
    config = sending_config(tmp_path, db)
    populate(config, 6, langs=("fr", "en", "es"))
    send_campaign(editions(config, langs), config, from_dsn(config.transport))
    langs_of = _langs(config)
    for address, message in _outbox(tmp_path).items():
        _check(message, "en" if langs_of[address] == "en" else "fr")


def test_a_resumed_campaign_keeps_each_rows_edition(tmp_path: Path, db: Database) -> None:
    """A subscriber who changes language during a campaign gets the edition their row
    was given: the change applies from the next issue."""
    config = sending_config(tmp_path, db)
    addresses = populate(config, 4, langs=("en", "fr"))
    eds = editions(config)
    with Store(config.db) as store:
        journal = Journal(store)
        journal.campaign("2018-06", FRENCH, {}, route(eds, config))  # started, then stopped
        with store.transaction():
            store.conn.execute("UPDATE subscribers SET lang = 'es' WHERE email = ?",
                               (addresses[0],))
    send_campaign(eds, config, from_dsn(config.transport))
    messages = _outbox(tmp_path)
    _check(messages[addresses[0]], "en")
    _check(messages[addresses[1]], "fr")
    assert _recorded(config)[addresses[0]] == "en"


def test_rows_of_a_campaign_begun_before_editions_get_one_before_they_are_sent(
        tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 4, langs=("en", "fr"))
    with Store(config.db) as store, store.transaction():
        store.add_campaign("2018-06", FRENCH, {})  # rows without an edition, as before
    assert set(_recorded(config).values()) == {""}
    send_campaign(editions(config), config, from_dsn(config.transport))
    messages = _outbox(tmp_path)
    _check(messages[addresses[0]], "en")
    _check(messages[addresses[1]], "fr")
    assert _recorded(config) == dict(zip(addresses, ["en", "fr"] * 2, strict=True))


def test_a_row_is_never_sent_in_another_edition_than_its_own(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    populate(config, 4, langs=("en", "fr"))
    with Store(config.db) as store:
        Journal(store).campaign("2018-06", FRENCH, {}, route(editions(config), config))
    with pytest.raises(InfoLettreError, match="edition en, which the issue no longer has"):
        send_campaign(editions(config, ("fr", "es")), config, from_dsn(config.transport))
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").rglob("*.eml"))
    summary = send_campaign(editions(config), config, from_dsn(config.transport))
    assert summary.counts["sent"] == 4


def test_newcomers_added_to_a_campaign_get_their_edition(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    populate(config, 2, langs=("fr",))
    send_campaign(editions(config), config, from_dsn(config.transport))
    newcomers = populate(config, 2, domain="example.net", langs=("en", "es"))
    summary = send_campaign(editions(config), config, from_dsn(config.transport),
                            include_new=True)
    assert summary.added == 2 and summary.sent_by_edition == {"en": 1, "es": 1}
    messages = _outbox(tmp_path)
    _check(messages[newcomers[0]], "en")
    _check(messages[newcomers[1]], "es")


def test_lang_narrows_the_audience_to_one_edition(tmp_path: Path, db: Database) -> None:
    from infolettre.delivery.send import Audience

    config = sending_config(tmp_path, db)
    addresses = populate(config, 6, langs=("fr", "en", "es"))
    summary = send_campaign(editions(config), config, from_dsn(config.transport),
                            audience=Audience(lang="en"))
    assert summary.sent_by_edition == {"en": 2}
    messages = _outbox(tmp_path)
    assert set(messages) == {addresses[1], addresses[4]}
    for message in messages.values():
        _check(message, "en")


def test_smtp_campaign_sends_each_subscriber_their_edition(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 30, langs=("fr", "en", "es"))
    with FakeSmtp() as smtp:
        summary = send_campaign(editions(config), config,
                                from_dsn(smtp.dsn(connections=3)), **FAST)
    assert summary.counts["sent"] == 30
    assert smtp.handler.delivered == dict.fromkeys(addresses, 1)
    langs = _langs(config)
    for rcpt, raw in smtp.handler.messages:
        _check(_parse(raw), langs[rcpt])


@pytest.mark.parametrize("provider", sorted(FAKES))
def test_an_api_request_carries_one_edition(tmp_path: Path, db: Database, provider: str) -> None:
    """A batch whose rows are in several editions goes as a request per edition."""
    fake = FAKES[provider]()
    config = sending_config(tmp_path, db)
    addresses = populate(config, 9, langs=("fr", "en", "es"))
    transport = from_dsn(dsn(provider, batch=10, connections=1),
                         http=httpx.MockTransport(fake))
    summary = send_campaign(editions(config), config, transport, **FAST)
    assert summary.counts["sent"] == 9, summary.troubles
    assert fake.counts == dict.fromkeys(addresses, 1)
    assert fake.requests == 3  # one batch of 9 rows, a request per edition
    langs = _langs(config)
    for d in fake.delivered:
        lang = langs[d["to"]]
        if d["subject"]:
            assert d["subject"] == SUBJECTS.get(lang, FRENCH), provider
        footer = {"fr": "Se désinscrire", "en": "Unsubscribe", "es": "Darse de baja"}[lang]
        assert footer in d["text"], provider


def test_one_edition_alone_is_sent_as_before(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    populate(config, 4)
    summary = send_campaign(editions(config)["fr"], config, from_dsn(config.transport))
    assert summary.sent_by_edition == {"fr": 4}
    assert {m["Content-Language"] for m in _outbox(tmp_path).values()} == {"fr"}
    assert set(_recorded(config).values()) == {"fr"}


def test_without_the_edition_of_its_chain_a_language_gets_the_source(tmp_path: Path) -> None:
    config = sending_config(tmp_path, fallback={"pt": ("it", "es")})
    edition_of = route(editions(config, ("fr", "en")), config)
    assert [edition_of(lang) for lang in ("fr", "en", "pt", "es", "de")] == [
        "fr", "en", "fr", "fr", "fr"]


def test_rows_in_doubt_of_a_removed_edition_stop_only_a_resend(tmp_path: Path,
                                                               db: Database) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 4, langs=("en", "fr"))
    with Store(config.db) as store:
        Journal(store).campaign("2018-06", FRENCH, {}, route(editions(config), config))
        with store.transaction():
            store.conn.execute("UPDATE deliveries SET state = 'in_doubt' WHERE edition = 'en'")
    summary = send_campaign(editions(config, ("fr", "es")), config, from_dsn(config.transport))
    assert summary.sent_by_edition == {"fr": 2} and summary.counts["in_doubt"] == 2
    assert set(_outbox(tmp_path)) == {addresses[1], addresses[3]}
    with pytest.raises(InfoLettreError, match="edition en, which the issue no longer has"):
        send_campaign(editions(config, ("fr", "es")), config, from_dsn(config.transport),
                      resend_in_doubt=True)
    assert len(_outbox(tmp_path)) == 2
