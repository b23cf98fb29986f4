"""cli send/status: what an editor sees, from build to a finished campaign."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from infolettre.cli import cli

from ..sending import populate, sending_config


def _config_file(tmp_path: Path, subscribers: int = 5, base_url: str | None = None,
                 transport: str | None = None) -> Path:
    """A configuration file over ``subscribers`` subscribers; the issues published at
    ``base_url`` and sent through ``transport`` (the sending configuration's by default)."""
    config = sending_config(tmp_path)
    populate(config, subscribers)
    path = tmp_path / "infolettre.toml"
    path.write_text(
        f'base_url = "{base_url or config.base_url}"\ndb = "{config.db}"\n'
        f'cache_dir = "{config.cache_dir}"\nsender = "{config.sender}"\n'
        f'transport = "{transport or config.transport}"\n', encoding="utf-8")
    return path


def _run(config_file: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config_file), *args])


def test_dry_run_shows_audience_and_a_message_and_sends_nothing(sample: Path,
                                                                 tmp_path: Path) -> None:
    conf = _config_file(tmp_path)
    result = _run(conf, "send", str(sample), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "audience: 5 active subscribers" in result.output
    assert "To: Abonné 0 <abonne00000@example.org>" in result.output
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in result.output
    assert not (tmp_path / "outbox").exists()
    assert "not sent yet" in _run(conf, "status", str(sample)).output


def test_send_after_build_then_again_sends_each_once(sample: Path, tmp_path: Path) -> None:
    conf = _config_file(tmp_path)
    assert _run(conf, "build", str(sample), "--out", str(tmp_path / "out"),
                "--no-pdf").exit_code == 0
    first = _run(conf, "send", str(sample), "--yes")
    assert first.exit_code == 0, first.output
    assert "this run 5 attempts" in first.output and "in all: 5 sent" in first.output
    again = _run(conf, "send", str(sample), "--yes")
    assert again.exit_code == 0, again.output
    assert "this run 0 attempts" in again.output and "in all: 5 sent" in again.output
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 5
    assert "5 recipients: 5 sent" in _run(conf, "status", str(sample)).output


def test_send_refuses_an_issue_broken_after_its_build(sample: Path, tmp_path: Path) -> None:
    conf = _config_file(tmp_path)
    assert _run(conf, "build", str(sample), "--out", str(tmp_path / "out"),
                "--no-pdf").exit_code == 0
    item = sample / "news" / "charleroi-album-jeunesse.md"
    item.write_text(item.read_text(encoding="utf-8").replace("cdm: charleroi", "cdm: charleroy"),
                    encoding="utf-8")
    result = _run(conf, "send", str(sample), "--yes")
    assert result.exit_code == 1
    assert "charleroi-album-jeunesse.md:2: " in result.output
    assert not (tmp_path / "outbox").exists()


def test_without_a_terminal_send_wants_yes(sample: Path, tmp_path: Path) -> None:
    conf = _config_file(tmp_path)
    result = _run(conf, "send", str(sample))
    assert result.exit_code != 0 and "pass --yes" in result.output
    assert not (tmp_path / "outbox").exists()


def test_resumed_send_says_who_joined_and_include_new_sends_them(sample: Path,
                                                                  tmp_path: Path) -> None:
    from infolettre.store import Store

    conf = _config_file(tmp_path)
    assert _run(conf, "send", str(sample), "--yes").exit_code == 0
    with Store(tmp_path / "infolettre.db") as store, store.transaction():
        for n in range(3):
            store.insert(f"nouveau{n}@example.org", name="Nouveau", lang="fr",
                         consent_source="test")
    said = "3 subscribers joined since this campaign started: send --include-new adds them"
    dry = _run(conf, "send", str(sample), "--dry-run")
    assert dry.exit_code == 0 and said in dry.output, dry.output
    again = _run(conf, "send", str(sample), "--yes")
    assert again.exit_code == 0 and said in again.output, again.output
    assert "in all: 5 sent" in again.output
    added = _run(conf, "send", str(sample), "--yes", "--include-new")
    assert added.exit_code == 0, added.output
    assert "3 subscribers who joined since this campaign started added to it" in added.output
    assert "in all: 8 sent" in added.output
    twice = _run(conf, "send", str(sample), "--yes", "--include-new")
    assert "this run 0 attempts" in twice.output and "joined" not in twice.output
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 8


def test_send_refuses_images_not_yet_published_and_sends_once_they_are(
        sample: Path, tmp_path: Path) -> None:
    from ..delivery.test_send import _Site
    from ..smtpfake import FakeSmtp

    site = _Site(tmp_path / "site")
    (tmp_path / "site").mkdir()
    try:
        with FakeSmtp() as smtp:
            conf = _config_file(tmp_path, 3, site.url, smtp.dsn())
            image = f"{site.url}2018-06/news/album-ce-matin-la.png"
            proof = _run(conf, "send", str(sample), "--test", "moi@example.org",
                         "--lang", "fr")  # the proof of one edition
            assert proof.exit_code == 0, proof.output
            assert f"warning: image not published: {image} (HTTP 404)" in proof.output
            assert smtp.handler.delivered == {"moi@example.org": 1}
            refused = _run(conf, "send", str(sample), "--yes")
            assert refused.exit_code == 2, refused.output
            assert f"error: image not published: {image}" in refused.output
            assert "--skip-image-check" in refused.output
            assert "not sent yet" in _run(conf, "status", str(sample)).output
            built = _run(conf, "build", str(sample), "--out", str(tmp_path / "site" / "2018-06"),
                         "--no-pdf")
            assert built.exit_code == 0, built.output
            sent = _run(conf, "send", str(sample), "--yes")
            assert sent.exit_code == 0, sent.output
            assert "image not published" not in sent.output and "in all: 3 sent" in sent.output
    finally:
        site.close()


def test_skip_image_check_sends_with_images_unpublished(sample: Path, tmp_path: Path) -> None:
    from ..smtpfake import FakeSmtp

    with FakeSmtp() as smtp:
        conf = _config_file(tmp_path, 3, "http://127.0.0.1:9/", smtp.dsn())
        assert _run(conf, "send", str(sample), "--yes").exit_code == 2
        result = _run(conf, "send", str(sample), "--yes", "--skip-image-check")
        assert result.exit_code == 0, result.output
        assert "in all: 3 sent" in result.output and "image not published" not in result.output
    assert len(smtp.handler.delivered) == 3


def _three_editions(tmp_path: Path) -> tuple[Path, Path]:
    """A configuration over six subscribers (fr, en, es in turn) and an issue of three
    editions (fr, en, es)."""
    from ..sending import translated_issue

    config = sending_config(tmp_path)
    populate(config, 6, langs=("fr", "en", "es"))
    conf = _config_file(tmp_path, 0)
    return conf, translated_issue(tmp_path / "issues")


def test_dry_run_shows_the_audience_of_each_edition_and_a_message_of_each(
        tmp_path: Path) -> None:
    from ..sending import SUBJECTS

    conf, issue = _three_editions(tmp_path)
    result = _run(conf, "send", str(issue), "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "audience: 6 active subscribers (2 en, 2 es, 2 fr)" in out
    assert f"edition en: 2 subscribers (2 en), “{SUBJECTS['en']}”" in out
    assert f"edition es: 2 subscribers (2 es), “{SUBJECTS['es']}”" in out
    assert "edition fr: 2 subscribers (2 fr)" in out
    for lang, first in (("fr", 0), ("en", 1), ("es", 2)):
        assert (f"first message of the edition {lang} (" in out
                and f"to abonne{first:05d}@example.org:" in out), lang
    assert out.count("Content-Language: ") == 3
    assert "Content-Language: en" in out and "Content-Language: es" in out
    assert not (tmp_path / "outbox").exists()


def test_send_and_status_count_the_messages_of_each_language(tmp_path: Path) -> None:
    conf, issue = _three_editions(tmp_path)
    sent = _run(conf, "send", str(issue), "--yes", "--skip-image-check")
    assert sent.exit_code == 0, sent.output
    assert "sent in this run, by language: 2 en, 2 es, 2 fr" in sent.output
    assert "in all: 6 sent" in sent.output and "edition en: 2 sent" in sent.output
    status = _run(conf, "status", str(issue)).output
    assert "6 recipients: 6 sent" in status
    for lang in ("en", "es", "fr"):
        assert f"edition {lang}: 2 sent" in status
    languages = sorted(line.split(": ")[1] for f in (tmp_path / "outbox" / "new").iterdir()
                       for line in f.read_text().splitlines()
                       if line.startswith("Content-Language"))
    assert languages == ["en", "en", "es", "es", "fr", "fr"]


def test_proofs_of_every_edition_or_of_the_one_for_lang(tmp_path: Path) -> None:
    conf, issue = _three_editions(tmp_path)
    every = _run(conf, "send", str(issue), "--test", "moi@example.org", "--skip-image-check")
    assert every.exit_code == 0, every.output
    for lang in ("fr", "en", "es"):
        assert f"moi@example.org ({lang}): sent" in every.output
    proofs = [f.read_text() for f in (tmp_path / "outbox" / "new").iterdir()]
    assert len(proofs) == 3
    ids = {line for p in proofs for line in p.splitlines() if line.startswith("Message-ID")}
    assert len(ids) == 3  # three messages, not one sent three times
    one = _run(conf, "send", str(issue), "--test", "moi@example.org", "--lang", "pt",
               "--skip-image-check")
    assert one.exit_code == 0 and "moi@example.org: sent" in one.output, one.output
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 4
    assert "not sent yet" in _run(conf, "status", str(issue)).output
