"""axe-core, Deque's accessibility engine, in headless Chromium on what readers see:
the sample's email and web edition, and the service's pages. Every rule axe runs by
default counts, the best-practice ones included: 0 violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import service_pages

#: axe's own tags for what it checks; best-practice rules are not WCAG criteria but
#: are held to here as well.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="session")
def axe_source(axe_core: Path) -> str:
    """axe.min.js from the pinned axe-core, to inject into each page."""
    return (axe_core / "axe.min.js").read_text(encoding="utf-8")


def audit(chromium: Any, axe_source: str, url: str, width: int) -> dict[str, Any]:
    """axe's results for the page at ``url`` in a ``width`` px viewport; nothing is
    fetched from the network but the local service (the sample's images are on the
    network's site: alt text is what axe looks at)."""
    # The service's Content-Security-Policy forbids inline scripts, rightly: the
    # injected axe is let through without changing what the page itself may do.
    page = chromium.new_page(viewport={"width": width, "height": 800}, bypass_csp=True)
    try:
        page.route("http*://**", lambda route: route.abort()
                   if "127.0.0.1" not in route.request.url else route.continue_())
        page.goto(url)
        page.add_script_tag(content=axe_source)
        return page.evaluate("""tags => axe.run(document, {
            runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""", TAGS)
    finally:
        page.close()


def violations(results: dict[str, Any]) -> list[str]:
    """One line per violation and element: rule, impact, target and what axe says."""
    return [f"{v['id']} ({v['impact']}) {node['target']}: {node['failureSummary']}"
            for v in results["violations"] for node in v["nodes"]]


def ran_best_practice(results: dict[str, Any]) -> bool:
    """Whether a best-practice rule was among those axe ran (passed or not applicable)."""
    return any("best-practice" in rule["tags"]
               for kind in ("passes", "inapplicable", "violations") for rule in results[kind])


@pytest.mark.parametrize(("lang", "width"), [("fr", 600), ("fr", 375), ("en", 375), ("es", 375)])
@pytest.mark.parametrize("name", ["email.html", "index.html"])
def test_the_sample_editions_have_no_axe_violations(axe_source: str, chromium, built: Path,
                                                    name: str, lang: str, width: int) -> None:
    """Each edition on a phone (the email's @media rules apply), French on a desktop too."""
    results = audit(chromium, axe_source, url=(built / lang / name).as_uri(), width=width)
    assert ran_best_practice(results)
    assert violations(results) == []


@pytest.mark.parametrize("width", [600, 375])
def test_the_digest_email_has_no_axe_violations(axe_source: str, chromium, digest: Path,
                                                width: int) -> None:
    """``layout: digest``: a summary and a "Read more" button for each item."""
    results = audit(chromium, axe_source, url=(digest / "fr" / "email.html").as_uri(),
                    width=width)
    assert ran_best_practice(results)
    assert violations(results) == []


def test_the_service_pages_have_no_axe_violations(axe_source: str, chromium, service) -> None:
    """The subscription form, the token pages (preferences, unsubscribe, contribute),
    the editorial sign-in and the archive, with their stylesheets, on a phone."""
    pages = service_pages(service)
    assert len(pages) == 6
    for name, (url, _) in pages.items():
        results = audit(chromium, axe_source, url=url, width=375)
        assert ran_best_practice(results)
        assert violations(results) == [], name
