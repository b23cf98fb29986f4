"""bounces: delivery reports and unsubscribe mails, read from a real IMAP server."""

from __future__ import annotations

import imaplib
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infolettre.audience import consent as sub
from infolettre.audience.bounces import Mailbox, process_mailbox, process_messages
from infolettre.errors import InfoLettreError
from infolettre.store import Store

from ..conftest import CORPUS
from ..smtpfake import free_port, self_signed

SAMPLES = CORPUS / "bounces"
PASSWORD = "imap-secret"

DOVECOT_CONF = """
base_dir = {dir}/run
state_dir = {dir}/run
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
first_valid_uid = 0
default_internal_user = dovecot
default_login_user = dovenull
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""


@pytest.fixture
def dovecot() -> Iterator[tuple[Mailbox, ssl.SSLContext]]:
    """Debian's dovecot-imapd, configured in a folder of its own, IMAPS on a free port."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        if os.environ.get("INFOLETTRE_REQUIRE_TOOLS"):
            pytest.fail("dovecot is not installed (Debian package dovecot-imapd)")
        pytest.skip("dovecot is not installed (Debian package dovecot-imapd)")
    # Not pytest's tmp_path: its folders are 0700, and dovecot's auth process runs
    # as the unprivileged 'dovecot' user, which must read the password file.
    tmp_path = Path(tempfile.mkdtemp(prefix="infolettre-dovecot-"))
    tmp_path.chmod(0o755)
    _, cert = self_signed(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "home").mkdir()
    uid, gid = (65534, 65534) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    if os.geteuid() == 0:
        os.chown(tmp_path / "home", uid, gid)
    (tmp_path / "passwd").write_text(f"bounces:{{PLAIN}}{PASSWORD}\n", encoding="utf-8")
    (tmp_path / "passwd").chmod(0o644)
    port = free_port()
    conf = tmp_path / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(dir=tmp_path, uid=uid, gid=gid, port=port),
                    encoding="utf-8")
    process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    context = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 20
    while True:
        try:
            imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context, timeout=5).logout()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"dovecot did not start: {process.stderr.read().decode()}")
            time.sleep(0.1)
    try:
        yield Mailbox("127.0.0.1", port, "bounces", PASSWORD, cert), context
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(tmp_path, ignore_errors=True)


def _deliver(mailbox: Mailbox, context: ssl.SSLContext, messages: list[bytes]) -> None:
    imap = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=context)
    imap.login(mailbox.user, mailbox.password)
    for raw in messages:
        imap.append("INBOX", None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    imap.logout()


def _count(mailbox: Mailbox, context: ssl.SSLContext, folder: str) -> int:
    imap = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=context)
    imap.login(mailbox.user, mailbox.password)
    status, data = imap.select(f'"{folder}"')
    imap.logout()
    return int(data[0]) if status == "OK" else 0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "b.db") as s:
        with s.transaction():
            for address in ("gone@example.org", "full@example.org", "ancien@example.com",
                            "anne.martin@example.org", "stays@example.org"):
                s.insert(address, consent_source="test")
        yield s


def test_bounces_from_a_real_imap_mailbox(dovecot, store: Store) -> None:
    mailbox, context = dovecot
    stays = store.get("stays@example.org")
    unsubscribe_mail = (f"From: stays@example.org\r\nTo: desinscription@example.org\r\n"
                        f"Subject: unsubscribe {sub.token_for(store, sub.UNSUBSCRIBE, stays)}\r\n"
                        "Message-ID: <unsub-1@example.org>\r\n\r\n\r\n").encode()
    samples = [p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))]
    _deliver(mailbox, context, [*samples, unsubscribe_mail])

    report = process_mailbox(store, mailbox, "INBOX", "Processed")
    assert (report.messages, report.hard, report.soft, report.unsubscribes, report.ignored) \
        == (5, 2, 1, 1, 1)
    assert store.get("gone@example.org").status == "bounced"
    assert store.get("ancien@example.com").status == "bounced"
    assert store.get("full@example.org").status == "active"  # one soft bounce
    assert store.get("stays@example.org").status == "unsubscribed"
    assert store.get("anne.martin@example.org").status == "active"
    assert _count(mailbox, context, "INBOX") == 1  # the human reply stays to be read
    assert _count(mailbox, context, "Processed") == 4

    again = process_mailbox(store, mailbox, "INBOX", "Processed")
    assert again.messages == 1 and again.ignored == 1


def test_soft_bounces_in_a_row_and_reports_applied_once(store: Store) -> None:
    raw = (SAMPLES / "exim-delayed.eml").read_bytes()
    for n in range(3):
        report, understood = process_messages(
            store, [(str(n), raw.replace(b"<E1fYxkh-0004Ul-Tq@", f"<{n}@".encode()))])
        assert understood == [str(n)] and report.soft == 1
    assert store.get("full@example.org").status == "bounced"
    assert "3 soft bounces in a row" in store.events("full@example.org")[-1][2]
    report, _ = process_messages(store, [("9", raw.replace(b"<E1fYxkh-0004Ul-Tq@", b"<0@"))])
    assert report.soft == 0  # the same report (same Message-ID) is not counted twice


def test_imap_errors_are_clear(dovecot, store: Store) -> None:
    mailbox, _ = dovecot
    wrong = Mailbox(mailbox.host, mailbox.port, mailbox.user, "nope", mailbox.cafile)
    with pytest.raises(InfoLettreError, match="refused the login"):
        process_mailbox(store, wrong)
    unverified = Mailbox(mailbox.host, mailbox.port, mailbox.user, PASSWORD, None)
    with pytest.raises(InfoLettreError, match="failed TLS verification"):
        process_mailbox(store, unverified)
    closed = Mailbox(mailbox.host, free_port(), mailbox.user, PASSWORD, mailbox.cafile)
    with pytest.raises(InfoLettreError, match="failed to connect"):
        process_mailbox(store, closed)
