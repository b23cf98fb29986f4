"""cache: a built edition is reused only while nothing that shapes it has changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import infolettre.edition.build
import infolettre.edition.cache
import infolettre.edition.render
from infolettre.config import Config
from infolettre.edition.build import (
    build_edition,
    edition_to_send,
    editions_to_send,
    load_publishable,
)
from infolettre.errors import ProblemsFound


@pytest.fixture
def counted(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = infolettre.edition.render.render_edition

    def render(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(infolettre.edition.render, "render_edition", render)
    return calls


def test_send_after_build_renders_nothing_again(sample: Path, tmp_path: Path,
                                                counted: list[int]) -> None:
    config = Config(base_url="https://x.org/nl", cache_dir=tmp_path / "cache")
    first = build_edition(load_publishable(sample, config), config)
    second = build_edition(load_publishable(sample, config), config)
    assert counted == [1] and second.html == first.html and second.text == first.text
    assert second.assets == first.assets


@pytest.mark.parametrize("change", ["news", "centres", "base_url", "templates"])
def test_any_change_builds_again(sample: Path, tmp_path: Path, counted: list[int],
                                 change: str) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    config = Config(base_url="https://x.org/nl", cache_dir=tmp_path / "cache",
                    templates_dir=templates)
    before = build_edition(load_publishable(sample, config), config)
    if change == "news":
        item = sample / "news" / "charleroi-album-jeunesse.md"
        item.write_text(item.read_text(encoding="utf-8").replace("dès 5 ans", "dès 6 ans"),
                        encoding="utf-8")
    elif change == "centres":
        centres = sample.parent / "cdms.yaml"
        centres.write_text(centres.read_text(encoding="utf-8").replace(
            "name: Cité des métiers de Charleroi", "name: Cité des métiers du Pays de Charleroi"),
            encoding="utf-8")
    elif change == "base_url":
        config = replace(config, base_url="https://y.org/nl")
    else:
        (templates / "email.txt.j2").write_text("{{ issue.title }}\n", encoding="utf-8")
    after = build_edition(load_publishable(sample, config), config)
    assert counted == [1, 1]
    assert (after.html, after.text) != (before.html, before.text)


def test_a_damaged_cache_is_ignored(sample: Path, tmp_path: Path, counted: list[int]) -> None:
    config = Config(base_url="https://x.org/nl", cache_dir=tmp_path / "cache")
    build_edition(load_publishable(sample, config), config)
    for entry in (tmp_path / "cache").iterdir():
        entry.write_text("{not json", encoding="utf-8")
    edition = build_edition(load_publishable(sample, config), config)
    assert counted == [1, 1] and "Nouvelles des CDM" in edition.html


def test_send_after_build_neither_parses_nor_checks(sample: Path, tmp_path: Path,
                                                     monkeypatch) -> None:
    config = Config(base_url="https://x.org/nl", cache_dir=tmp_path / "cache")
    built = build_edition(load_publishable(sample, config), config)

    def no_parsing(*args, **kwargs):
        raise AssertionError("the issue was parsed again")

    monkeypatch.setattr(infolettre.edition.build, "load_publishable", no_parsing)
    edition = edition_to_send(sample, config)
    assert edition == built
    assert (edition.slug, edition.lang) == ("2018-06", "fr") and edition.subject


def test_send_checks_again_once_the_folder_changed(sample: Path, tmp_path: Path) -> None:
    config = Config(base_url="https://x.org/nl", cache_dir=tmp_path / "cache")
    build_edition(load_publishable(sample, config), config)
    item = sample / "news" / "charleroi-album-jeunesse.md"
    item.write_text(item.read_text(encoding="utf-8").replace("cdm: charleroi", "cdm: charleroy"),
                    encoding="utf-8")
    with pytest.raises(ProblemsFound) as found:
        edition_to_send(sample, config)
    assert any("charleroy" in p.message for p in found.value.problems)


def test_a_stricter_setting_checks_again(sample: Path, tmp_path: Path) -> None:
    config = Config(base_url="https://x.org/nl", cache_dir=tmp_path / "cache")
    build_edition(load_publishable(sample, config), config)
    with pytest.raises(ProblemsFound) as found:
        edition_to_send(sample, replace(config, max_body_chars=100))
    assert any("100" in p.message for p in found.value.problems)


def test_each_edition_is_rendered_once_and_kept_under_its_language(
        sample: Path, tmp_path: Path, counted: list[int], monkeypatch) -> None:
    # The key covers InfoLettre's code: none of it is edited while this test runs.
    monkeypatch.setattr(infolettre.edition.cache, "_PACKAGE", tmp_path / "no-code")
    config = Config(base_url="https://x.org/nl", cache_dir=tmp_path / "cache",
                    languages=("fr", "en", "es"))
    built = editions_to_send(sample, config)
    assert list(built) == ["fr", "en", "es"] and counted == [1, 1, 1]
    assert [e.lang for e in built.values()] == ["fr", "en", "es"]
    assert '<html lang="es"' in built["es"].html and built["en"].html != built["es"].html
    assert built["en"].url == "https://x.org/nl/en/2018-06/"

    def no_parsing(*args, **kwargs):
        raise AssertionError("the issue was parsed again")

    monkeypatch.setattr(infolettre.edition.build, "load_publishable", no_parsing)
    assert editions_to_send(sample, config) == built and counted == [1, 1, 1]
    assert edition_to_send(sample, config) == built["fr"]  # the source's, as before


def test_a_change_of_fallback_renders_the_editions_again(
        sample: Path, tmp_path: Path, counted: list[int]) -> None:
    config = Config(base_url="https://x.org/nl", cache_dir=tmp_path / "cache",
                    languages=("fr", "en", "es"))
    editions_to_send(sample, config)
    again = editions_to_send(sample, replace(config, fallback={"es": ("en",)}))
    assert counted == [1, 1, 1, 1, 1, 1] and list(again) == ["fr", "en", "es"]
