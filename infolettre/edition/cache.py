"""Built editions kept on disk, keyed by a hash of everything that goes into them.

Rendering and inlining cost a third of a second; ``send`` right after ``build``
need not pay it again. The key covers the issue's files, the directory of
centres, the templates (default and overriding), the catalogues, InfoLettre's
own code and the settings that checking and rendering read, so a change to
any of them builds again: a stale email is never sent. An entry is only
written for an issue that passed ``check``, so finding one for a folder as it
is now also says the folder passes (``build.edition_to_send`` relies on it).
Unreadable or foreign cache files are ignored; the cache can be deleted at
any time.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import Config
from ..content.layout import find_centres_file, issue_slug
from ..fsutil import atomic_write
from .ready import Asset, ReadyEdition

__all__ = ["edition_key", "edition_keys", "entry_name", "load", "load_languages", "store",
           "store_languages"]

_VERSION = b"infolettre-edition-4"  # 3: placeholders sealed; 4: an entry per edition
_PACKAGE = Path(__file__).resolve().parent.parent  # all of infolettre's code


def entry_name(lang: str, source: str) -> str:
    """The name of ``lang``'s entry for an issue whose source language is ``source``:
    "" for the source's own, which ``edition_to_send`` looks up before it knows the
    issue's language, else the language."""
    return "" if lang == source else lang


def _files(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def _hash_group(digest: Any, name: str, root: Path | None, files: list[Path]) -> None:
    digest.update(f"\0{name}\0".encode())
    for path in files:
        relative = path.relative_to(root) if root else path
        digest.update(f"{relative}\0".encode() + hashlib.sha256(path.read_bytes()).digest())


@functools.cache
def _code_digest(package: Path) -> bytes:
    """The digest of the package's files (its code, theme and catalogues), once per
    process: the code that runs does not change under it, and the service would
    otherwise read and hash all of it again for every issue of every archive rebuild."""
    digest = hashlib.sha256()
    _hash_group(digest, "code", package, _files(package))
    return digest.digest()


def edition_key(folder: Path, config: Config, lang: str = "") -> str:
    """A hash that changes whenever anything that shapes the issue's edition changes.

    Computed from the folder without parsing it: the files themselves, and the
    settings that checking and rendering read, the editions and their fallback
    among them. ``lang`` is the edition's language ("" for the source language's,
    as ``edition_to_send`` knows it before parsing; "*" for the list of editions),
    so that each edition of an issue has its own entry.
    """
    return edition_keys(folder, config)(lang)


def edition_keys(folder: Path, config: Config) -> Callable[[str], str]:
    """``edition_key`` of every edition of ``folder`` as it is now, by language: the
    files are read and hashed once for all the editions."""
    digest = hashlib.sha256(_VERSION)
    digest.update(_code_digest(_PACKAGE))  # the default theme is part of the package
    centres = find_centres_file(folder)
    groups = [
        ("templates", config.templates_dir, _files(config.templates_dir)),
        ("issue", folder, _files(folder)),
        ("centres", centres.parent if centres else None, [centres] if centres else []),
        ("logo", None, [config.logo] if config.logo else []),
    ]
    for name, root, files in groups:
        _hash_group(digest, name, root, files)
    settings = {"base_url": config.base_url, "max_body_chars": config.max_body_chars,
                "slug": issue_slug(folder), "languages": list(config.languages),
                "fallback": {k: list(v) for k, v in config.fallback.items()},
                "logo_alt": config.logo_alt, "postal_address": config.postal_address,
                "social_links": [list(link) for link in config.social_links]}
    digest.update(json.dumps(settings, sort_keys=True).encode())

    def key(lang: str) -> str:
        edition = digest.copy()
        edition.update(f"\0lang\0{lang}".encode())
        return edition.hexdigest()

    return key


def _path(cache_dir: Path, slug: str, lang: str, key: str) -> Path:
    return cache_dir / f"{slug}@{lang}-{key[:32]}.json"


def load(cache_dir: Path, slug: str, key: str, lang: str = "") -> ReadyEdition | None:
    """The cached edition of issue ``slug`` in ``lang`` for ``key``, or None."""
    try:
        data = json.loads(_path(cache_dir, slug, lang, key).read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        assets = tuple(Asset(Path(a["source"]), PurePosixPath(a["target"]))
                       for a in data["assets"])
        return ReadyEdition(data["slug"], data["subject"], data["lang"], data["html"],
                            data["text"], data["web"], data["stylesheet"], assets,
                            tuple(data["warnings"]), data["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(cache_dir: Path, edition: ReadyEdition, key: str, lang: str = "") -> None:
    """Keep ``edition`` under ``key`` and ``lang`` (and drop that edition's older entries)."""
    data = {"key": key, "slug": edition.slug, "subject": edition.subject,
            "lang": edition.lang, "html": edition.html, "text": edition.text,
            "web": edition.web, "stylesheet": edition.stylesheet, "url": edition.url,
            "warnings": list(edition.warnings),
            "assets": [{"source": str(a.source), "target": str(a.target)}
                       for a in edition.assets]}
    _write(cache_dir, edition.slug, lang, key, data)


def load_languages(cache_dir: Path, slug: str, key: str) -> tuple[tuple[str, ...], str] | None:
    """The languages of the issue's editions recorded under ``key`` (see ``"*"``) and
    its source language, or None."""
    try:
        data = json.loads(_path(cache_dir, slug, "*", key).read_text(encoding="utf-8"))
        langs = data["langs"]
        if data.get("key") != key or not all(isinstance(x, str) for x in [*langs,
                                                                           data["source"]]):
            return None
        return tuple(langs), data["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_languages(cache_dir: Path, slug: str, key: str, langs: tuple[str, ...],
                    source: str) -> None:
    """Record the languages of the issue's editions, once each of them is stored."""
    _write(cache_dir, slug, "*", key, {"key": key, "langs": list(langs), "source": source})


def _write(cache_dir: Path, slug: str, lang: str, key: str, data: dict) -> None:
    try:
        for old in cache_dir.glob(f"{glob.escape(slug)}@{glob.escape(lang)}-*.json"):
            old.unlink(missing_ok=True)
        atomic_write(_path(cache_dir, slug, lang, key), json.dumps(data, ensure_ascii=False))
    except OSError:
        pass  # a read-only folder only costs the next run a render
