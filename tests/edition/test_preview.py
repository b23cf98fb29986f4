"""preview: a real server on 127.0.0.1 that rebuilds when the sources change."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infolettre.config import Config
from infolettre.edition.preview import make_server


@pytest.fixture
def served(sample: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    server = make_server(sample, Config(), "127.0.0.1", 0, tmp_path / "site")
    (tmp_path / "site").mkdir(exist_ok=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sample
    finally:
        server.shutdown()
        server.server_close()


def test_pages_are_served(served: tuple[str, Path]) -> None:
    url, _ = served
    with httpx.Client(base_url=url, timeout=30) as client:
        index = client.get("/")
        assert index.status_code == 200
        for lang in ("fr", "en", "es"):  # the sample's editions, each in its folder
            assert f"{lang}: " in index.text and f"/2018-06/{lang}/email.html" in index.text
        web = client.get("/2018-06/fr/")
        assert web.status_code == 200 and "Nouvelles des CDM" in web.text
        assert "News from the centres" in client.get("/2018-06/en/").text
        email = client.get("/2018-06/fr/email.html")
        assert email.headers["content-type"].startswith("text/html")
        text = client.get("/2018-06/fr/email.txt")
        assert text.headers["content-type"] == "text/plain; charset=utf-8"
        image = client.get("/2018-06/news/album-ce-matin-la.png")
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        assert f"{url}/2018-06/news/album-ce-matin-la.png" in email.text


def test_edits_show_on_reload_and_problems_are_listed(served: tuple[str, Path]) -> None:
    url, sample = served
    item = sample / "news" / "charleroi-album-jeunesse.md"
    with httpx.Client(base_url=url, timeout=30) as client:
        item.write_text(item.read_text(encoding="utf-8").replace(
            "un album jeunesse", "un livre jeunesse"), encoding="utf-8")
        assert "Création d&#39;un livre jeunesse" in client.get("/2018-06/fr/").text
        item.write_text("---\ncdm: charleroy\n---\n", encoding="utf-8")
        index = client.get("/").text
        assert "The issue has problems" in index
        assert "charleroi-album-jeunesse.md:2: unknown centre" in index
