"""config: TOML file, environment overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from infolettre.config import Config, ConfigError, load_config


def test_defaults_without_a_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(env={}) == Config()


def test_file_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    conf = tmp_path / "conf" / "infolettre.toml"
    conf.parent.mkdir()
    conf.write_text('base_url = "https://x.org/nl"\nissues_dir = "../issues"\n'
                    "max_body_chars = 100\n", encoding="utf-8")
    config = load_config(conf, env={})
    assert config.issues_dir == (tmp_path / "issues").resolve()
    assert config.issue_url("2018-06") == "https://x.org/nl/2018-06/"
    assert config.max_body_chars == 100


def test_environment_overrides(tmp_path: Path) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text('base_url = "https://x.org"\n', encoding="utf-8")
    config = load_config(env={"INFOLETTRE_CONFIG": str(conf),
                              "INFOLETTRE_BASE_URL": "https://y.org/"})
    assert config.base_url == "https://y.org/" and config.source == conf


@pytest.mark.parametrize(("text", "message"), [
    ("base_url = 3\n", "must be text in quotes"),
    ("base_url = 'ftp://x'\n", "must start with http"),
    ("max_body_chars = 'many'\n", "must be a whole number"),
    ("max_body_chars = 0\n", "at least 1"),
    ("[oops\n", "invalid TOML"),
    ('forwarded_allow_ips = ["*"]\n', "not an IP address or network"),
    ('forwarded_allow_ips = "127.0.0.1"\n', "must be a list of texts"),
    ('trusted_origins = ["https://x.org/form"]\n', "is not an origin"),
    ("form_body_limit = 10\n", "at least 1024"),
])
def test_errors(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(conf, env={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.toml", env={})


def test_service_settings(tmp_path: Path) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text('forwarded_allow_ips = ["127.0.0.1", "10.0.0.0/8"]\n'
                    'trusted_origins = ["https://www.example.org"]\n'
                    "webhook_body_limit = 2048\n", encoding="utf-8")
    config = load_config(conf, env={})
    assert config.forwarded_allow_ips == ("127.0.0.1", "10.0.0.0/8")
    assert config.trusted_origins == ("https://www.example.org",)
    assert (config.webhook_body_limit, config.form_body_limit) == (2048, 64 * 1024)
    assert Config().forwarded_allow_ips == ()  # no proxy is trusted by default
