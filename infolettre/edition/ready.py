"""A built edition: what sending needs of an issue once it is rendered and inlined."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["Asset", "ReadyEdition"]


@dataclass(frozen=True)
class Asset:
    """A local file an edition links to, and where it is published beside it."""

    source: Path
    target: PurePosixPath


@dataclass(frozen=True)
class ReadyEdition:
    """An issue ready to send: inlined HTML and text, placeholders unfilled.

    It carries the few facts of the issue that sending reads (slug, subject,
    language: the edition's, address) rather than the whole content model, so that an edition taken
    from the build's cache needs no parsing.
    """

    slug: str
    subject: str
    lang: str
    html: str
    text: str
    web: str
    stylesheet: str
    assets: tuple[Asset, ...]
    #: What the quality checks found in the inlined HTML (see ``quality``).
    warnings: tuple[str, ...] = ()
    #: The edition's public address (its web page, the base of its images):
    #: ``BASE_URL/LANG/ISSUE/`` when the issue has several editions, else
    #: ``BASE_URL/ISSUE/`` as before editions; "" for ``Config.issue_url(slug)``.
    url: str = ""
