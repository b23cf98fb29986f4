"""Helpers for the sending tests: a database of synthetic subscribers, an edition."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from infolettre.config import Config
from infolettre.edition.build import build_edition, load_publishable
from infolettre.edition.ready import ReadyEdition
from infolettre.store import Store

from .conftest import BASE_URL, SAMPLE


def sending_config(folder: Path, **changes: object) -> Config:
    """A configuration whose database lives in ``folder``."""
    config = Config(base_url=BASE_URL, db=folder / "infolettre.db",
                    sender="Réseau des Cités des métiers <infolettre@reseaucitesdesmetiers.com>",
                    bounce_address="bounces@reseaucitesdesmetiers.com",
                    list_id="infolettre.reseaucitesdesmetiers.com",
                    transport=f"outbox://{folder / 'outbox'}", cache_dir=folder / "cache")
    return replace(config, **changes)


def populate(config: Config, count: int, *, domain: str = "example.org") -> list[str]:
    """``count`` active subscribers; returns their addresses."""
    addresses = [f"abonne{n:05d}@{domain}" for n in range(count)]
    with Store(config.db) as store, store.transaction():
        for n, address in enumerate(addresses):
            store.insert(address, name=f"Abonné {n}", lang="fr" if n % 4 else "en",
                         consent_source="test")
    return addresses


_EDITION: dict[str, ReadyEdition] = {}


def edition(config: Config) -> ReadyEdition:
    """The sample issue, built once per test session."""
    if "sample" not in _EDITION:
        _EDITION["sample"] = build_edition(load_publishable(SAMPLE, config), config)
    return _EDITION["sample"]
