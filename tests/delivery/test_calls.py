"""calls: the call for contributions reaches each contact once, in their language, with a
link that opens their invitation; reminders go to the centres that sent nothing, once a day."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from dataclasses import replace
from pathlib import Path

import pytest

from infolettre.audience.invitations import open_link
from infolettre.delivery.calls import (
    mail_lang,
    plan_call,
    plan_reminders,
    send_call,
    send_reminders,
    submitted_centres,
)
from infolettre.delivery.transports.base import Envelope, Outcome, Result, Session
from infolettre.delivery.transports.outbox import OutboxTransport
from infolettre.errors import InfoLettreError
from infolettre.store import Store

from ..sending import sending_config

DEADLINE = dt.date.today() + dt.timedelta(days=30)

CONTACTS = {
    "charleroi": "[{name: Anne Dupont, email: Anne@cdm-charleroi.be},"
                 " {name: Bob Smith, email: bob@cdm-charleroi.be, lang: en}]",
    "marseille": "[{name: Chiara Rossi, email: chiara@cdm-marseille.fr, lang: it},"
                 " {name: Dana, email: dana@cdm-marseille.fr, lang: de}]",
}


def with_contacts(issues: Path, contacts: dict[str, str] = CONTACTS) -> None:
    """Give centres of the sample directory their contacts (a flow list each)."""
    path = issues / "cdms.yaml"
    text = path.read_text(encoding="utf-8")
    for slug, flow in contacts.items():
        text, n = re.subn(rf"^{slug}:\n", f"{slug}:\n  contacts: {flow}\n", text, flags=re.M)
        assert n == 1, slug
    path.write_text(text, encoding="utf-8")


def outbox(folder: Path) -> list[email.message.EmailMessage]:
    """The messages the outbox holds, parsed."""
    new = folder / "outbox" / "new"
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(new.iterdir())] if new.is_dir() else []


def text_of(message: email.message.EmailMessage) -> str:
    """The message's text, its lines joined again (the template wraps them)."""
    return " ".join(message.get_content().split())


def token_in(text: str) -> str:
    found = re.search(r"/contribute/(\S+)", text)
    assert found, text
    return found.group(1)


@pytest.fixture
def setup(issues: Path, tmp_path: Path):
    with_contacts(issues)
    config = sending_config(tmp_path, reply_to="Rédaction <redaction@example.org>")
    return issues / "2018-06", config, OutboxTransport(tmp_path / "outbox")


def test_a_call_reaches_each_contact_once_in_their_language_with_a_link_that_opens(
        setup, tmp_path: Path) -> None:
    sample, config, transport = setup
    with Store(config.db) as store:
        sent = send_call(store, config, transport, plan_call(store, sample, DEADLINE))
        assert not sent.failed
        messages = {m["To"].lower(): m for m in outbox(tmp_path)}  # sent as written
        assert outbox(tmp_path)[0]["To"] == "Anne@cdm-charleroi.be"
        assert sorted(messages) == ["anne@cdm-charleroi.be", "bob@cdm-charleroi.be",
                                    "chiara@cdm-marseille.fr", "dana@cdm-marseille.fr"]
        langs = {to: m["Content-Language"] for to, m in messages.items()}
        assert langs == {"anne@cdm-charleroi.be": "fr", "bob@cdm-charleroi.be": "en",
                         "chiara@cdm-marseille.fr": "it",
                         "dana@cdm-marseille.fr": "fr"}  # no German catalogue: the issue's
        for to, message in messages.items():
            assert message["Reply-To"] == "Rédaction <redaction@example.org>"
            assert message["From"] == config.sender
            opened = open_link(store, token_in(text_of(message))).invitation
            assert opened is not None and opened.email == to and opened.sent_at
            assert opened.deadline == DEADLINE.isoformat()
        french, english = (text_of(messages[a]) for a in ("anne@cdm-charleroi.be",
                                                           "bob@cdm-charleroi.be"))
        assert "Bonjour Anne Dupont" in french and "Cité des métiers de Charleroi" in french
        assert f"{DEADLINE.day} " in french and "photo" in french
        assert DEADLINE.strftime("%B") in english and "Dear Bob Smith" in english
        assert "InfoLettre — June 2018" in messages["bob@cdm-charleroi.be"]["Subject"]
        assert {i.email for i in store.invitations("2018-06") if i.sent_at} == set(messages)


def test_a_second_call_sends_only_to_a_contact_added_since(setup, issues: Path,
                                                            tmp_path: Path) -> None:
    sample, config, transport = setup
    with Store(config.db) as store:
        send_call(store, config, transport, plan_call(store, sample, DEADLINE))
        with_contacts(issues, {"bruxelles": "[{name: Eve, email: eve@cdm.brussels}]"})
        again = plan_call(store, sample, DEADLINE)
        assert [m.email for m in again.mails] == ["eve@cdm.brussels"]
        assert len(again.already) == 4
        send_call(store, config, transport, again)
        assert len(outbox(tmp_path)) == 5
        assert not plan_call(store, sample, DEADLINE).mails


def test_centre_narrows_the_call_and_an_unknown_one_is_refused(setup, tmp_path: Path) -> None:
    sample, config, transport = setup
    with Store(config.db) as store:
        call = plan_call(store, sample, DEADLINE, ["marseille"])
        assert {m.centre.slug for m in call.mails} == {"marseille"}
        send_call(store, config, transport, call)
        assert {m["To"] for m in outbox(tmp_path)} == {"chiara@cdm-marseille.fr",
                                                       "dana@cdm-marseille.fr"}
        assert [m.centre.slug for m in plan_call(store, sample, DEADLINE).mails] == [
            "charleroi", "charleroi"]
        with pytest.raises(InfoLettreError, match="charleroy"):
            plan_call(store, sample, DEADLINE, ["charleroy"])


class _Refusing(OutboxTransport):
    """An outbox that refuses one address for good, as a relay answering 550 would."""

    def __init__(self, root: Path, refused: str) -> None:
        super().__init__(root)
        self.refused = refused

    def open(self) -> Session:
        inner, refused = super().open(), self.refused

        class _Session(Session):
            def send(self, envelope: Envelope) -> Result:
                if envelope.recipient == refused:
                    return Result(Outcome.FAILED, "550 mailbox unavailable")
                return inner.send(envelope)

        return _Session()


def test_a_message_not_accepted_leaves_its_invitation_to_call_again(setup,
                                                                    tmp_path: Path) -> None:
    sample, config, _ = setup
    with Store(config.db) as store:
        refusing = _Refusing(tmp_path / "outbox", "bob@cdm-charleroi.be")
        sent = send_call(store, config, refusing, plan_call(store, sample, DEADLINE))
        assert [m.email for m, _ in sent.failed] == ["bob@cdm-charleroi.be"]
        again = plan_call(store, sample, DEADLINE)
        assert [m.email for m in again.mails] == ["bob@cdm-charleroi.be"]
        assert again.mails[0].invitation is not None  # the same row, hence the same link


def _submit(sample: Path, cdm: str, status: str | None) -> None:
    header = f"status: {status}\n" if status else ""
    (sample / "news" / f"{cdm}-contribution.md").write_text(
        f"---\ncdm: {cdm}\nsection: network\ntitle: Une nouvelle\n{header}---\nTexte.\n",
        encoding="utf-8")


def test_submitted_centres_are_those_with_an_item_that_has_a_status(sample: Path) -> None:
    assert submitted_centres(sample) == set()  # the sample's items are the team's own
    _submit(sample, "charleroi", "submitted")
    _submit(sample, "marseille", None)
    _submit(sample, "bruxelles", "returned")
    assert submitted_centres(sample) == {"charleroi", "bruxelles"}


def test_remind_skips_a_centre_that_submitted_and_a_contact_reminded_today(
        setup, tmp_path: Path) -> None:
    sample, config, transport = setup
    with Store(config.db) as store:
        send_call(store, config, transport, plan_call(store, sample, DEADLINE))
        _submit(sample, "charleroi", "submitted")
        reminders = plan_reminders(store, sample)
        assert reminders.submitted == {"charleroi"}
        assert [m.email for m in reminders.mails] == ["chiara@cdm-marseille.fr",
                                                      "dana@cdm-marseille.fr"]
        sent = send_reminders(store, config, transport, reminders)
        assert len(sent.sent) == 2
        reminded = outbox(tmp_path)[4:]
        assert {m["To"] for m in reminded} == {"chiara@cdm-marseille.fr",
                                               "dana@cdm-marseille.fr"}
        chiara = next(m for m in reminded if m["To"] == "chiara@cdm-marseille.fr")
        assert chiara["Content-Language"] == "it" and "Promemoria" in chiara["Subject"]
        assert open_link(store, token_in(text_of(chiara))).invitation is not None
        today = plan_reminders(store, sample)
        assert not today.mails and len(today.already) == 2
        tomorrow = plan_reminders(store, sample, dt.datetime.now(dt.UTC).date()
                                  + dt.timedelta(days=1))
        assert len(tomorrow.mails) == 2


def test_remind_leaves_out_contacts_never_called_and_those_whose_link_expired(
        setup, tmp_path: Path) -> None:
    sample, config, transport = setup
    with Store(config.db) as store:
        send_call(store, config, transport, plan_call(store, sample, DEADLINE, ["marseille"]))
        reminders = plan_reminders(store, sample)
        assert {m.centre.slug for m in reminders.mails} == {"marseille"}
        assert reminders.not_called == 2  # charleroi's, for `call` to invite
        late = plan_reminders(store, sample, DEADLINE + dt.timedelta(days=30))
        assert not late.mails


def test_the_language_falls_back_to_the_issue_then_french() -> None:
    assert mail_lang("pt", "en") == "pt"
    assert mail_lang("", "en") == mail_lang("de", "en") == "en"
    assert mail_lang("de", "xx") == "fr"


def test_without_reply_to_the_call_has_none(issues: Path, tmp_path: Path) -> None:
    with_contacts(issues)
    config = replace(sending_config(tmp_path), reply_to="")
    with Store(config.db) as store:
        send_call(store, config, OutboxTransport(tmp_path / "outbox"),
                  plan_call(store, issues / "2018-06", DEADLINE, ["charleroi"]))
    assert [m["Reply-To"] for m in outbox(tmp_path)] == [None, None]


def test_an_api_transport_gets_the_reply_to_too(tmp_path: Path) -> None:
    from infolettre.delivery.notices import Notice

    config = sending_config(tmp_path)
    notice = Notice(config, "Sujet", "Texte", "fr", reply_to="Rédaction <redaction@example.org>")
    assert notice.content().reply_to == "redaction@example.org"
    assert Notice(config, "Sujet", "Texte", "fr").content().reply_to == ""


def test_a_returned_item_s_comment_reaches_its_author_with_their_link(
        setup, tmp_path: Path) -> None:
    from infolettre.delivery.calls import send_returned

    sample, config, transport = setup
    item = sample / "news" / "charleroi-forum.md"
    item.write_text("---\ncdm: charleroi\ntitle: Forum des métiers\n"
                    "contacts: [{name: Bob, email: bob@cdm-charleroi.be}]\n"
                    "status: returned\nsubmitted_by: bob@cdm-charleroi.be\n---\nTexte.\n",
                    encoding="utf-8")
    with Store(config.db) as store:
        send_call(store, config, transport, plan_call(store, sample, DEADLINE))
        before = len(outbox(tmp_path))
        result = send_returned(store, config, transport, item, "Une photo, s'il vous plaît ?")
        assert result is not None and result.outcome is Outcome.SENT
        message = outbox(tmp_path)[before:][0]
        assert message["To"] == "bob@cdm-charleroi.be" and message["Content-Language"] == "en"
        assert "Forum des métiers" in message["Subject"]
        text = text_of(message)
        assert "Une photo, s'il vous plaît ?" in text
        assert open_link(store, token_in(text)).invitation is not None
        own = sample / "news" / "summit-cdm21-rouen.md"  # the team's own: nobody to tell
        assert send_returned(store, config, transport, own, "x") is None
