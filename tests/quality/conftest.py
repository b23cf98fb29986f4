"""Fixtures of the external checks: the pinned node modules, the sample issue built
once, and the service's pages.

The checks are tools nobody here wrote (axe-core, html-validate, caniemail's data),
installed from ``package.json`` / ``package-lock.json`` beside this file with
``npm ci --prefix tests/quality``. Without node or the modules they skip and say
how to install them; CI sets INFOLETTRE_REQUIRE_TOOLS=1, which makes that a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infolettre.audience import links
from infolettre.audience.invitations import contribute_url
from infolettre.config import Config
from infolettre.edition.build import build_issue
from infolettre.store import Store

from ..conftest import BASE_URL, SAMPLE
from ..service import Service, start_service, subscriber, token

HERE = Path(__file__).resolve().parent
MODULES = HERE / "node_modules"
INSTALL = "npm ci --prefix tests/quality (Debian packages nodejs and npm)"


def require(missing: str) -> None:
    """Skip with ``missing`` as the reason, or fail when CI requires the tools."""
    if os.environ.get("INFOLETTRE_REQUIRE_TOOLS"):
        pytest.fail(missing)
    pytest.skip(missing)


def module(name: str) -> Path:
    """The installed node module ``name``, or a skip saying how to install it."""
    where = MODULES / name
    if not (where / "package.json").is_file():
        require(f"the node module {name} is not installed: {INSTALL}")
    return where


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable, or a skip saying how to install it."""
    found = shutil.which("node") or shutil.which("nodejs")
    if not found:
        require(f"node is not installed: {INSTALL}")
    assert found
    return found


@pytest.fixture(scope="session")
def axe_core() -> Path:
    """The installed axe-core (asked for before the build, so that a skip is quick)."""
    return module("axe-core")


@pytest.fixture(scope="session")
def html_validate(node: str) -> Path:
    """The installed html-validate's command-line entry point."""
    return module("html-validate") / "bin" / "html-validate.mjs"


@pytest.fixture(scope="session")
def caniemail(node: str) -> Path:
    """The installed caniemail package."""
    return module("caniemail")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample issue built once, without its PDF: ``LANG/email.html``, ``LANG/index.html``."""
    out = tmp_path_factory.mktemp("quality") / "out"
    config = Config(base_url=BASE_URL, cache_dir=out.parent / "cache")
    build_issue(SAMPLE, out, config)
    return out


@pytest.fixture(scope="session")
def digest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample issue in ``layout: digest`` (a "Read more" button per item), built."""
    folder = tmp_path_factory.mktemp("digest")
    shutil.copytree(SAMPLE.parent, folder / "issues")
    meta = folder / "issues" / SAMPLE.name / "issue.md"
    text = meta.read_text(encoding="utf-8")
    assert "\nlayout:" not in text
    meta.write_text(text.replace("lang: fr\n", "lang: fr\nlayout: digest\n", 1), encoding="utf-8")
    out = folder / "out"
    build_issue(folder / "issues" / SAMPLE.name, out,
                Config(base_url=BASE_URL, cache_dir=folder / "cache"))
    # A button per item, beside the full layout's one (the subscription callout's).
    assert (out / "fr" / "email.html").read_text(encoding="utf-8").count('class="button-cell"') > 5
    return out


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``infolettre serve`` with the sample issue published in its archive."""
    running = start_service(tmp_path_factory.mktemp("service"), publish=("2018-06",))
    try:
        yield running
    finally:
        running.stop()


def contribution_path(service: Service) -> str:
    """The path of a centre contact's link to contribute to the sample issue."""
    with Store(service.db) as store:
        with store.transaction():
            invitation = store.invite("2018-06", "marseille", "contact@example.org",
                                      "Anne Contact", "fr", "2099-06-15")
        return contribute_url(store, service.url, invitation).removeprefix(service.url)


def service_pages(service: Service) -> dict[str, tuple[str, str]]:
    """The service's pages a reader sees, by name: their address and HTML, each
    answered 200 with HTML. Token pages only show a form on GET; nothing is changed."""
    who = subscriber(service)
    paths = {
        "subscribe": "/subscribe",
        "preferences": f"/preferences/{token(service, links.PREFERENCES, who)}",
        "unsubscribe": f"/unsubscribe/{token(service, links.UNSUBSCRIBE, who)}",
        "contribute": contribution_path(service),
        "editorial-signin": "/editorial/signin",
        "archive": "/",
    }
    pages = {}
    with httpx.Client(base_url=service.url, timeout=30) as client:
        for name, path in paths.items():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            assert response.headers["content-type"].startswith("text/html"), path
            pages[name] = (f"{service.url}{path}", response.text)
    return pages
