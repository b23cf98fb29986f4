"""replies: a contact's answer to the call, read from a real IMAP server, becomes their
centre's submitted item; a stranger's, a forged token's or an automatic one is moved aside."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import subprocess
import sys
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from infolettre.audience.invitations import open_link
from infolettre.config import ConfigError, load_config
from infolettre.delivery.calls import plan_call, reply_to_for, send_call
from infolettre.delivery.replies import fetch_replies, process_replies, token_of
from infolettre.delivery.reply_text import body_text, strip_reply, title_of
from infolettre.delivery.transports.outbox import OutboxTransport
from infolettre.errors import InfoLettreError
from infolettre.store import Store
from infolettre.web.uploads import reencode

from ..audience.test_bounces import _count, _deliver, dovecot  # noqa: F401 (the fixture)
from ..sending import sending_config
from .test_calls import outbox, with_contacts

DEADLINE = dt.date.today() + dt.timedelta(days=30)
PATTERN = "Rédaction <infolettre+{token}@example.org>"
ANNE = "Anne@cdm-charleroi.be"  # as cdms.yaml writes it; the invitation keeps it lowercased

REPLY = """Bonjour,

Le forum des métiers a réuni **300 visiteurs** à Charleroi le 12 juin : vingt
entreprises y ont présenté leurs métiers aux jeunes de la région.

Bien à vous,
Anne

--\u0020
Anne Dupont
Cité des métiers de Charleroi — 071 00 00 00

Le lun. 3 déc. 2026 à 10:00, Réseau des Cités des métiers <infolettre@example.org> a
écrit :
> Bonjour Anne Dupont,
> envoyez-nous les nouvelles de votre centre avant le 25 mars.
"""


def _jpeg() -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make: metadata that must not be kept
    Image.new("RGB", (1600, 900), (200, 40, 40)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def _mail(to: str, sender: str, subject: str = "RE: Forum des métiers à Charleroi", *,
          text: str = REPLY, image: bytes | None = None, html: str = "",
          message_id: str = "", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = message_id or email.utils.make_msgid("reply", "cdm-charleroi.be")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if html:
        message.set_content(html, subtype="html")
    else:
        message.set_content(text)
    if image is not None:
        message.add_attachment(image, maintype="application", subtype="octet-stream",
                               filename="../../IMG_0001.JPG")  # the decoder decides
    return message.as_bytes()


@pytest.fixture
def called(issues: Path, tmp_path: Path):
    """The sample issue's contacts called, the call's Reply-To carrying their token."""
    with_contacts(issues)
    config = sending_config(tmp_path, issues_dir=issues, contribute_reply_to=PATTERN)
    transport = OutboxTransport(tmp_path / "outbox")
    with Store(config.db) as store:
        send_call(store, config, transport, plan_call(store, issues / "2018-06", DEADLINE))
        reply_to = {str(m["To"]).lower(): str(m["Reply-To"]) for m in outbox(tmp_path)}
        yield config, transport, store, reply_to


def test_the_call_s_reply_to_carries_the_link_token(called) -> None:
    config, _, store, reply_to = called
    address = reply_to[ANNE.lower()]
    assert address.startswith("Rédaction <infolettre+") and address.endswith("@example.org>")
    message = EmailMessage()
    message["To"] = address
    token = token_of(message, config.contribute_reply_to)
    opened = open_link(store, token or "")
    assert opened.invitation is not None and opened.invitation.email == ANNE.lower()
    assert reply_to_for(replace(config, contribute_reply_to=""), opened.invitation, store) \
        == config.reply_to


def test_the_call_says_a_reply_becomes_the_item_and_where_questions_go(
        called, tmp_path: Path) -> None:
    """"A question? Just reply" would turn every question into a submitted item."""
    from email.utils import parseaddr

    config = called[0]
    [anne] = [m for m in outbox(tmp_path) if str(m["To"]).lower() == ANNE.lower()]
    text = " ".join(anne.get_content().replace("\xa0", " ").split())
    assert "répondre à ce message avec votre texte et vos photos" in text
    editorial = parseaddr(config.reply_to or config.sender)[1]
    assert f"Écrivez à {editorial}" in text and "Une question ? Répondez" not in text


def test_a_reply_becomes_a_checked_item_and_strangers_are_moved_aside(
        called, dovecot, tmp_path: Path) -> None:  # noqa: F811
    config, transport, store, reply_to = called
    mailbox, context = dovecot
    token_address = reply_to[ANNE.lower()].split("<")[1].rstrip(">")
    good = _mail(token_address, "Anne Dupont <ANNE@CDM-charleroi.be>", image=_jpeg(),
                 message_id="<good-1@cdm-charleroi.be>")
    stranger = _mail(token_address, "Mallory <mallory@example.net>")
    forged = _mail("infolettre+1.9999999999.AAAAAAAAAAAAAAAAAAAAAA@example.org", ANNE)
    untokened = _mail("infolettre@example.org", ANNE)
    away = _mail(token_address, ANNE, "Absent du bureau", text="Je suis absente.",
                 Auto_Submitted="auto-replied")
    _deliver(mailbox, context, [good, stranger, forged, untokened, away])
    before = len(outbox(tmp_path))

    report = fetch_replies(store, config, transport, reencode, mailbox)

    assert report.messages == 5 and len(report.applied) == 1
    reasons = {r.sender: r.reason for r in report.refused}
    assert "not by the invited contact" in reasons["mallory@example.net"]
    assert sorted(r.reason for r in report.refused if r.sender == ANNE) == [
        "a forged or unknown token", "an automatic reply (Auto-Submitted, Precedence or "
        "X-Autoreply)", "no contribution token in the address it was sent to"]
    assert _count(mailbox, context, "INBOX") == 0
    assert _count(mailbox, context, "INBOX.done") == 1
    assert _count(mailbox, context, "INBOX.refused") == 4

    news = config.issues_dir / "2018-06" / "news"
    item = news / "charleroi-forum-des-metiers-a-charleroi.md"
    assert report.applied == [f"2018-06/news/{item.name} (charleroi, {ANNE.lower()})"]
    text = item.read_text(encoding="utf-8")
    assert 'title: "Forum des métiers à Charleroi"' in text and "status: submitted" in text
    assert f'submitted_by: "{ANNE.lower()}"' in text and 'cdm: "charleroi"' in text
    assert "**300 visiteurs**" in text and text.rstrip().endswith("Anne")
    for gone in ("Anne Dupont\nCité", "071 00", "a\nécrit", "envoyez-nous", "> "):
        assert gone not in text  # neither the signature nor the quoted call
    assert 'src: "charleroi-forum-des-metiers-a-charleroi.jpg"' in text
    with Image.open(news / "charleroi-forum-des-metiers-a-charleroi.jpg") as written:
        assert written.format == "JPEG" and written.width == 1200 and not written.getexif()
    assert not list(tmp_path.rglob("IMG_0001*"))  # the sender's file name is never used
    checked = subprocess.run([sys.executable, "-m", "infolettre", "check", str(item)],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    mails = outbox(tmp_path)[before:]
    assert [str(m["To"]) for m in mails] == [ANNE.lower()]  # none to the refused senders
    said = mails[0].get_content()
    assert "Forum des métiers à Charleroi" in said and "/contribute/" in said

    _deliver(mailbox, context, [good])  # the same mail again (a run that could not move it)
    again = fetch_replies(store, config, transport, reencode, mailbox)
    assert again.applied == [] and again.refused == [] and "earlier run" in again.notes[0]
    assert sorted(p.name for p in news.glob("charleroi-forum-*")) == [
        "charleroi-forum-des-metiers-a-charleroi.jpg", item.name]
    assert _count(mailbox, context, "INBOX.done") == 2


def test_a_reply_that_fails_the_checks_is_refused_and_writes_nothing(called) -> None:
    config, transport, store, reply_to = called
    token_address = reply_to[ANNE.lower()].split("<")[1].rstrip(">")
    news = config.issues_dir / "2018-06" / "news"
    before = sorted(news.iterdir())
    report, applied, refused = process_replies(
        store, config, transport, reencode, [("7", _mail(token_address, ANNE, "Re: "))])
    assert applied == [] and refused == ["7"]
    assert report.refused[0].reason.startswith("the item fails the checks: title")
    assert sorted(news.iterdir()) == before
    # the invited contact (token and address checked) is told why, with their page
    [told] = [m for m in outbox(config.db.parent) if "n'a pas pu devenir" in str(m["Subject"])]
    assert str(told["To"]).lower() == ANNE.lower() and "/contribute/" in told.get_content()


def test_an_html_only_reply_is_converted_to_markdown(called) -> None:
    config, transport, store, reply_to = called
    token_address = reply_to[ANNE.lower()].split("<")[1].rstrip(">")
    html = ('<div><p>Le salon a réuni <strong>300 visiteurs</strong>, voir '
            '<a href="https://www.example.org/salon">le programme</a>.</p></div>'
            '<div class="gmail_quote"><div>On Mon, Dec 3, 2026 at 10:00 AM Réseau '
            '&lt;infolettre@example.org&gt; wrote:</div><blockquote>Bonjour Anne</blockquote>'
            '</div>')
    report, applied, _ = process_replies(
        store, config, transport, reencode,
        [("8", _mail(token_address, ANNE, "TR: Fwd: Salon", html=html))])
    assert applied == ["8"], report.refused
    text = (config.issues_dir / "2018-06" / "news" / "charleroi-salon.md").read_text("utf-8")
    assert "**300 visiteurs**" in text and "[le programme](https://www.example.org/salon)" in text
    assert "Bonjour Anne" not in text and "wrote" not in text


def test_replies_need_the_setting(called) -> None:
    config, transport, store, _ = called
    with pytest.raises(InfoLettreError, match="contribute_reply_to"):
        process_replies(store, replace(config, contribute_reply_to=""), transport, reencode, [])


@pytest.mark.parametrize("value", ["infolettre@example.org", "{token}", "x+{token}+{token}@a.b",
                                   "infolettre@{token}.example.org",
                                   "a-very-long-name-for-the-mailbox+{token}@example.org"])
def test_a_contribute_reply_to_without_room_for_a_token_is_refused(tmp_path: Path,
                                                                    value: str) -> None:
    path = tmp_path / "infolettre.toml"
    path.write_text(f'contribute_reply_to = "{value}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="contribute_reply_to"):
        load_config(path, env={})


def test_the_reply_s_own_words_are_kept() -> None:
    assert title_of("RE: TR: Fwd:  Forum   des métiers") == "Forum des métiers"
    assert title_of("Réunion : le bilan") == "Réunion : le bilan"
    outlook = ("Voici notre nouvelle.\n\n________________________________\n"
               "De : Réseau <infolettre@example.org>\nEnvoyé : lundi 3 décembre\nObjet : Appel")
    assert strip_reply(outlook) == "Voici notre nouvelle."
    english = "Our news.\n\nOn Mon, Dec 3, 2026 at 10:00 AM Network wrote:\n> Dear Bob"
    assert strip_reply(english) == "Our news."
    blocks = "Line one\n> quoted\nLine two\n--\nBob"
    assert strip_reply(blocks) == "Line one\nLine two"
    quoted = "Le forum a eu lieu.\nLe stand était plein : bravo à tous."
    assert strip_reply(quoted) == quoted  # a line of news ending in a colon stays
    plain = email.message_from_bytes(_mail("a@b.c", ANNE, text="Texte\n-- \nSignature"),
                                     policy=email.policy.default)
    assert body_text(plain) == "Texte"  # type: ignore[arg-type]


def test_replies_fetch_on_the_command_line(called, dovecot, tmp_path: Path) -> None:  # noqa: F811
    from click.testing import CliRunner

    from infolettre.cli import cli

    config, _, _, reply_to = called
    mailbox, context = dovecot
    token_address = reply_to[ANNE.lower()].split("<")[1].rstrip(">")
    _deliver(mailbox, context, [_mail(token_address, ANNE, "Re: Salon de l'emploi"),
                                _mail(token_address, "mallory@example.net", "Re: Pub")])
    path = tmp_path / "infolettre.toml"
    path.write_text(f'issues_dir = "{config.issues_dir}"\ndb = "{config.db}"\n'
                    f'transport = "{config.transport}"\nbase_url = "{config.base_url}"\n'
                    f'contribute_reply_to = "{PATTERN}"\n', encoding="utf-8")
    args = ["--config", str(path), "replies", "fetch", "--host", mailbox.host,
            "--port", str(mailbox.port), "--user", mailbox.user, "--cafile", str(mailbox.cafile)]
    runner = CliRunner()
    done = runner.invoke(cli, args, env={"INFOLETTRE_IMAP_PASSWORD": mailbox.password})
    assert done.exit_code == 0, done.output
    assert "2 mails read: 1 applied (moved to INBOX.done), 1 not applied" in done.output
    assert "wrote 2018-06/news/charleroi-salon-de-l-emploi.md" in done.output
    assert 'not applied: mallory@example.net "Re: Pub": sent by mallory' in done.output
    assert _count(mailbox, context, "INBOX.refused") == 1
    unset = runner.invoke(cli, args, env={"INFOLETTRE_IMAP_PASSWORD": ""})
    assert unset.exit_code == 2 and "INFOLETTRE_IMAP_PASSWORD" in unset.output


def test_a_photo_pasted_in_an_html_reply_is_found_after_the_attached_one() -> None:
    from infolettre.delivery.reply_text import attachments

    message = EmailMessage()
    message["Subject"] = "Salon"
    message.set_content("Texte")
    message.add_alternative('<p>Texte</p><img src="cid:logo">', subtype="html")
    html = message.get_payload()[1]
    html.add_related(b"LOGO", maintype="image", subtype="png", cid="<logo>")
    message.add_attachment(b"PHOTO", maintype="image", subtype="jpeg", filename="photo.jpg")
    assert [data for _, data in attachments(message)] == [b"PHOTO", b"LOGO"]
