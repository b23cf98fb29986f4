"""The archive of an issue of several editions, through the running service and as
static files: each edition at BASE_URL/LANG/ISSUE/, BASE_URL/ISSUE/ still answering."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infolettre.config import Config
from infolettre.edition.archive import build_archive

from ..service import Service, start_service

ATOM = "{http://www.w3.org/2005/Atom}"


def _one_edition(issue: Path) -> None:
    meta = issue / "issue.md"
    meta.write_text(re.sub(r"(?m)^editions: .*\n", "", meta.read_text(encoding="utf-8")),
                    encoding="utf-8")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = start_service(tmp_path_factory.mktemp("archive"), publish=("2018-06",))
    yield svc
    svc.stop()


@pytest.fixture
def client(service: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        yield c


def test_each_edition_is_served_at_its_language(service: Service, client) -> None:
    english = client.get("/en/2018-06/")
    assert english.status_code == 200 and '<html lang="en"' in english.text
    assert "News from the centres" in english.text
    spanish = client.get("/es/2018-06/").text
    assert '<html lang="es"' in spanish and 'lang="fr"' in spanish
    assert "Esta noticia está en francés." in spanish
    for page in (english.text, spanish):
        for lang in ("fr", "en", "es"):
            assert (f'<link rel="alternate" hreflang="{lang}" '
                    f'href="{service.url}/{lang}/2018-06/">') in page
        assert f'href="{service.url}/fr/2018-06/" hreflang="fr" lang="fr">Français</a>' in page
    style = client.get("/en/2018-06/style.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


def test_the_issue_address_redirects_to_the_source_edition(service: Service, client) -> None:
    """Links in emails sent before the issue had editions keep working, images too."""
    for path in ("/2018-06/", "/2018-06", "/2018-06/index.html"):
        answer = client.get(path)
        assert answer.status_code == 302, path
        assert answer.headers["location"] == f"{service.url}/fr/2018-06/", path
    followed = client.get("/2018-06/", follow_redirects=True)
    assert followed.status_code == 200 and "Nouvelles des CDM" in followed.text
    image = client.get("/2018-06/news/album-ce-matin-la.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert f'src="{service.url}/2018-06/news/album-ce-matin-la.png"' in client.get(
        "/es/2018-06/").text
    assert client.get("/de/2018-06/").status_code == 404


def test_an_index_and_a_feed_per_language(service: Service, client) -> None:
    root = client.get("/").text
    assert 'href="2018-06/"' in root and "InfoLettre — juin 2018" in root
    english = client.get("/en/")
    assert english.status_code == 200 and '<html lang="en"' in english.text
    assert 'href="2018-06/"' in english.text and "June 2018" in english.text
    assert '<html lang="es"' in client.get("/es/").text
    for lang in ("fr", "en", "es"):  # each index names the others
        assert (f'<link rel="alternate" hreflang="{lang}" href="{service.url}/{lang}/">'
                in english.text)
    assert f'<a href="{service.url}/es/" hreflang="es" lang="es">Español</a>' in english.text
    assert "hreflang" not in root
    assert client.get("/en/style.css").status_code == 200
    for lang, title in (("en", "June 2018"), ("es", "junio 2018"), ("fr", "juin 2018")):
        feed = ET.fromstring(client.get(f"/{lang}/feed.atom").content)
        assert feed.find(f"{ATOM}id").text == f"{service.url}/{lang}/"
        [entry] = feed.findall(f"{ATOM}entry")
        assert entry.find(f"{ATOM}link").get("href") == f"{service.url}/{lang}/2018-06/"
        assert title in entry.find(f"{ATOM}title").text, lang
    [entry] = ET.fromstring(client.get("/feed.atom").content).findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}link").get("href") == f"{service.url}/2018-06/"


def test_an_issue_losing_its_editions_is_served_as_before(tmp_path: Path,
                                                          issues: Path) -> None:
    svc = start_service(tmp_path, issues=issues, args=("--archive-check", "0.1"),
                        publish=("2018-06",))
    try:
        with httpx.Client(base_url=svc.url, timeout=30) as c:
            assert c.get("/2018-06/").status_code == 302
            _one_edition(issues / "2018-06")
            time.sleep(0.3)
            page = c.get("/2018-06/")
            assert page.status_code == 200 and "Nouvelles des CDM" in page.text
            assert "hreflang" not in page.text
            assert c.get("/en/2018-06/").status_code == 404
            assert c.get("/en/feed.atom").status_code == 404
    finally:
        svc.stop()


def test_the_static_archive_sends_the_issue_address_to_the_source_edition(
        tmp_path: Path, issues: Path) -> None:
    config = Config(base_url="https://x.org/nl", issues_dir=issues,
                    cache_dir=tmp_path / "cache")
    out = tmp_path / "site"
    archive = build_archive(config, out, {"2018-06"})
    assert archive.redirects == {"2018-06": "https://x.org/nl/fr/2018-06/"}
    page = (out / "2018-06" / "index.html").read_text(encoding="utf-8")
    assert '<meta http-equiv="refresh" content="0; url=https://x.org/nl/fr/2018-06/">' in page
    assert (out / "2018-06" / "news" / "album-ce-matin-la.png").is_file()
    for lang in ("fr", "en", "es"):
        assert (out / lang / "2018-06" / "index.html").is_file()
        assert (out / lang / "index.html").is_file() and (out / lang / "feed.atom").is_file()
    build_archive(config, out, set())  # withdrawn: every edition goes
    assert not any((out / lang / "2018-06").exists() for lang in ("fr", "en", "es"))
    assert not (out / "2018-06").exists()


def test_a_one_edition_archive_is_written_as_before(tmp_path: Path, issues: Path) -> None:
    _one_edition(issues / "2018-06")
    config = Config(base_url="https://x.org/nl", issues_dir=issues,
                    cache_dir=tmp_path / "cache")
    out = tmp_path / "site"
    archive = build_archive(config, out, {"2018-06"})
    assert archive.redirects == {}
    assert sorted(p.name for p in out.iterdir()) == ["2018-06", "feed.atom", "index.html",
                                                     "style.css"]
    assert "Nouvelles des CDM" in (out / "2018-06" / "index.html").read_text(encoding="utf-8")
