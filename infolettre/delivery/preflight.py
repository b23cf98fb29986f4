"""Before sending: does every image of the edition answer at its public address?

A message links its images by URL, beside the issue's web version (the
``markup.public_url`` of the asset's target under ``config.issue_url(slug)``). Sent
before the archive is published, or after a publication that missed a file, every reader sees a
broken image; so ``send`` asks each URL first. A HEAD request, then a GET when
the server refuses HEAD (some static hosts answer 403, 405 or 501), a short
timeout, every URL at once on a few threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from ..config import Config
from ..content.markup import public_url
from ..edition.ready import ReadyEdition

__all__ = ["broken_images", "image_urls"]

TIMEOUT = 5.0
WORKERS = 8


def image_urls(edition: ReadyEdition, config: Config) -> list[str]:
    """The public address of every asset of ``edition``, in order, each once."""
    base = config.issue_url(edition.slug)
    return list(dict.fromkeys(public_url(base, asset.target) for asset in edition.assets))


def _problem(client: httpx.Client, url: str) -> str | None:
    """Why ``url`` is not an image a reader would see, or None when it answers 200."""
    try:
        reply = client.head(url)
        if reply.status_code != 200:
            with client.stream("GET", url) as streamed:  # some hosts refuse HEAD
                reply = streamed
        if reply.status_code == 200:
            return None
        return f"HTTP {reply.status_code}"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def broken_images(edition: ReadyEdition, config: Config, *, timeout: float = TIMEOUT
                  ) -> list[tuple[str, str]]:
    """(url, why) of every image of ``edition`` that does not answer 200 publicly."""
    urls = image_urls(edition, config)
    if not urls:
        return []
    with httpx.Client(timeout=timeout, follow_redirects=True) as client, \
            ThreadPoolExecutor(min(WORKERS, len(urls))) as pool:
        problems = list(pool.map(lambda url: _problem(client, url), urls))
    return [(url, why) for url, why in zip(urls, problems, strict=True) if why]
