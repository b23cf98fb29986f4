"""transports: DSNs, masking, the outbox, configuration checks."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.config import ConfigError, load_config
from infolettre.delivery.transports import Envelope, TransportError, from_dsn, mask
from infolettre.delivery.transports.outbox import OutboxTransport
from infolettre.delivery.transports.smtp import SmtpTransport


def test_smtp_dsn() -> None:
    t = from_dsn("smtp://user%40x:p%3Ass@relay.example.org:587?connections=6&rate=12.5")
    assert isinstance(t, SmtpTransport)
    assert (t.host, t.port, t.security, t.username, t.password, t.connections, t.rate) == (
        "relay.example.org", 587, "starttls", "user@x", "p:ss", 6, 12.5)
    assert "p:ss" not in t.describe() and "****" in t.describe()
    assert from_dsn("smtp://relay.example.org:465").security == "tls"
    assert from_dsn("smtp://127.0.0.1:25?security=none").security == "none"


def test_password_from_the_environment() -> None:
    t = from_dsn("smtp://user@relay.example.org", {"INFOLETTRE_SMTP_PASSWORD": "s3cret"})
    assert t.password == "s3cret" and t.port == 587


@pytest.mark.parametrize(("dsn", "message"), [
    ("smtp://relay.example.org?conections=2", "did you mean 'connections'"),
    ("smtp://relay.example.org?connections=0", "above 0"),
    ("smtp://relay.example.org?rate=fast", "must be a number"),
    ("smtp://relay.example.org?security=ssl", "security must be one of"),
    ("smtp://user@relay.example.org", "without a password"),
    ("smtp://:25", "no host"),
    ("pigeon://coop", "unknown transport 'pigeon'"),
    ("outbox://", "give the outbox folder"),
])
def test_bad_dsns(dsn: str, message: str) -> None:
    with pytest.raises(TransportError, match=message):
        from_dsn(dsn)


def test_mask() -> None:
    assert mask("smtp://u:secret@h:587") == "smtp://u:****@h:587"
    assert mask("outbox://outbox") == "outbox://outbox"


def test_outbox_is_a_maildir(tmp_path: Path) -> None:
    session = OutboxTransport(tmp_path / "box").open()
    result = session.send(Envelope("b@example.org", "r@example.org",
                                   b"Subject: hi\r\nTo: r@example.org\r\n\r\nbody\r\n"))
    assert result.outcome.value == "sent"
    [message] = list(mailbox.Maildir(tmp_path / "box"))
    assert message["Subject"] == "hi" and message["Return-Path"] == "<b@example.org>"


def test_no_password_in_the_configuration_file(tmp_path: Path) -> None:
    conf = tmp_path / "infolettre.toml"
    conf.write_text('transport = "smtp://u:secret@relay.example.org"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="secrets belong in the environment"):
        load_config(conf, env={})


def test_config_check_masks_secrets(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INFOLETTRE_TRANSPORT", "smtp://u:hunter2@relay.example.org:587")
    monkeypatch.setenv("INFOLETTRE_SECRET", "also-secret")
    result = CliRunner().invoke(cli, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output and "also-secret" not in result.output
    assert "smtp://u:****@relay.example.org:587" in result.output
    assert "$INFOLETTRE_SECRET: set" in result.output


def test_transports_command() -> None:
    result = CliRunner().invoke(cli, ["transports"])
    assert "outbox" in result.output and "smtp://" in result.output
