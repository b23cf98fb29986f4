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

import hashlib
import json
from pathlib import Path, PurePosixPath

from .. import theme
from ..config import Config
from ..content.layout import find_centres_file, issue_slug
from ..fsutil import atomic_write
from .ready import Asset, ReadyEdition

__all__ = ["edition_key", "load", "store"]

_VERSION = b"infolettre-edition-3"  # 3: placeholders sealed
_PACKAGE = Path(__file__).resolve().parent.parent  # all of infolettre's code


def _files(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def edition_key(folder: Path, config: Config) -> str:
    """A hash that changes whenever anything that shapes the issue's edition changes.

    Computed from the folder without parsing it: the files themselves, and the
    settings that checking and rendering read.
    """
    digest = hashlib.sha256(_VERSION)
    centres = find_centres_file(folder)
    groups = [
        ("code", _PACKAGE, _files(_PACKAGE)),
        ("theme", theme.default_dir(), _files(theme.default_dir())),
        ("templates", config.templates_dir, _files(config.templates_dir)),
        ("issue", folder, _files(folder)),
        ("centres", centres.parent if centres else None, [centres] if centres else []),
    ]
    for name, root, files in groups:
        digest.update(f"\0{name}\0".encode())
        for path in files:
            relative = path.relative_to(root) if root else path
            digest.update(f"{relative}\0".encode() + hashlib.sha256(path.read_bytes()).digest())
    settings = {"base_url": config.base_url, "max_body_chars": config.max_body_chars,
                "slug": issue_slug(folder)}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def _path(cache_dir: Path, slug: str, key: str) -> Path:
    return cache_dir / f"{slug}-{key[:32]}.json"


def load(cache_dir: Path, slug: str, key: str) -> ReadyEdition | None:
    """The cached edition of issue ``slug`` for ``key``, or None."""
    try:
        data = json.loads(_path(cache_dir, slug, key).read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        assets = tuple(Asset(Path(a["source"]), PurePosixPath(a["target"]))
                       for a in data["assets"])
        return ReadyEdition(data["slug"], data["subject"], data["lang"], data["html"],
                            data["text"], data["web"], data["stylesheet"], assets,
                            tuple(data["warnings"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(cache_dir: Path, edition: ReadyEdition, key: str) -> None:
    """Keep ``edition`` under ``key`` (and drop the issue's older entries)."""
    slug = edition.slug
    data = {"key": key, "slug": slug, "subject": edition.subject, "lang": edition.lang,
            "html": edition.html, "text": edition.text, "web": edition.web,
            "stylesheet": edition.stylesheet, "warnings": list(edition.warnings),
            "assets": [{"source": str(a.source), "target": str(a.target)}
                       for a in edition.assets]}
    try:
        for old in cache_dir.glob(f"{slug}-*.json"):
            old.unlink(missing_ok=True)
        atomic_write(_path(cache_dir, slug, key), json.dumps(data, ensure_ascii=False))
    except OSError:
        pass  # a read-only folder only costs the next run a render
