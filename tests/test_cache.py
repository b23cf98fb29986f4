"""cache: a built edition is reused only while nothing that shapes it has changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import infolettre.render
from infolettre.build import build_edition, load_publishable
from infolettre.config import Config


@pytest.fixture
def counted(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = infolettre.render.render_edition

    def render(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(infolettre.render, "render_edition", render)
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
