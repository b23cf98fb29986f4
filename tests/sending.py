"""Helpers for the sending tests: a database of synthetic subscribers, an edition, an
issue of three editions."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from infolettre.config import Config, Database
from infolettre.edition.build import build_edition, build_editions, load_publishable
from infolettre.edition.ready import ReadyEdition
from infolettre.store import Store

from .conftest import BASE_URL, SAMPLE


def sending_config(folder: Path, db: Database | None = None, **changes: object) -> Config:
    """A configuration whose outbox and cache live in ``folder``, and its database too
    unless ``db`` (the ``db`` fixture's, of either engine) is given."""
    config = Config(base_url=BASE_URL, db=db or folder / "infolettre.db",
                    sender="Réseau des Cités des métiers <infolettre@reseaucitesdesmetiers.com>",
                    bounce_address="bounces@reseaucitesdesmetiers.com",
                    list_id="infolettre.reseaucitesdesmetiers.com",
                    transport=f"outbox://{folder / 'outbox'}", cache_dir=folder / "cache")
    return replace(config, **changes)


def write_config(folder: Path, config: Config) -> Path:
    """``folder/infolettre.toml`` holding ``config``'s address, database, cache, sender and
    bounce address: for the tests that run ``infolettre`` as a process."""
    path = folder / "infolettre.toml"
    path.write_text(
        f'base_url = "{config.base_url}"\ndb = "{config.db}"\n'
        f'cache_dir = "{config.cache_dir}"\nsender = "{config.sender}"\n'
        f'bounce_address = "{config.bounce_address}"\n', encoding="utf-8")
    return path


def populate(config: Config, count: int, *, domain: str = "example.org",
             langs: tuple[str, ...] = ()) -> list[str]:
    """``count`` active subscribers; returns their addresses.

    Their languages are ``langs`` in turn, or one in four ``en``, the others ``fr``.
    """
    addresses = [f"abonne{n:05d}@{domain}" for n in range(count)]
    with Store(config.db) as store, store.transaction():
        for n, address in enumerate(addresses):
            lang = langs[n % len(langs)] if langs else "fr" if n % 4 else "en"
            store.insert(address, name=f"Abonné {n}", lang=lang, consent_source="test")
    return addresses


_EDITION: dict[str, ReadyEdition] = {}


def edition(config: Config) -> ReadyEdition:
    """The sample issue, built once per test session."""
    if "sample" not in _EDITION:
        _EDITION["sample"] = build_edition(load_publishable(SAMPLE, config), config)
    return _EDITION["sample"]


#: The subject of each edition of :func:`translated_issue`.
SUBJECTS = {"en": "The Network's InfoLettre — June 2018",
            "es": "La InfoLettre de la Red — junio de 2018"}
_EDITOS = {"en": "Dear members and partners of the Network,\n\nThe CDM21 SUMMIT met in Rouen.\n",
           "es": "Estimados miembros y socios de la Red:\n\nEl SUMMIT CDM21 se reunió en "
                 "Ruán.\n"}


def translated_issue(folder: Path, langs: tuple[str, ...] = ("fr", "en", "es")) -> Path:
    """A copy of the sample issue in ``folder`` whose editions are ``langs``: the
    source's, and for each other an ``issue.LANG.md`` with its subject and edito
    (the news items are left untranslated, shown by the fallback)."""
    issue = folder / SAMPLE.name
    shutil.copytree(SAMPLE, issue)
    shutil.copy(SAMPLE.parent / "cdms.yaml", folder)  # the directory of centres
    for translation in issue.rglob("*.*.md"):  # the sample's own, whatever they are now
        translation.unlink()
    source = issue / "issue.md"
    head, sep, body = source.read_text(encoding="utf-8").partition("\n---\n")
    head = re.sub(r"(?m)^editions:.*\n?", "", head).rstrip("\n")
    source.write_text(f"{head}\neditions: [{', '.join(langs)}]{sep}{body}", encoding="utf-8")
    for lang in langs[1:]:
        (issue / f"issue.{lang}.md").write_text(
            f'---\nsubject: "{SUBJECTS[lang]}"\n---\n{_EDITOS[lang]}', encoding="utf-8")
    return issue


_EDITIONS: dict[tuple[str, ...], dict[str, ReadyEdition]] = {}


def editions(config: Config, langs: tuple[str, ...] = ("fr", "en", "es")
             ) -> dict[str, ReadyEdition]:
    """The editions of :func:`translated_issue`, built once per test session."""
    if langs not in _EDITIONS:
        folder = Path(tempfile.mkdtemp(prefix="infolettre-editions-"))
        try:
            built = replace(config, cache_dir=folder / "cache")
            _EDITIONS[langs] = build_editions(
                load_publishable(translated_issue(folder, langs), built), built)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return _EDITIONS[langs]
