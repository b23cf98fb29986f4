"""machine: drafts through a LibreTranslate server, here a loopback one that holds to the
documented API (POST /translate, JSON {q, source, target, format, api_key};
{"translatedText": …}; {"error": …} with 400 or 403)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from infolettre.cli import cli
from infolettre.config import Config
from infolettre.content.check import check_path
from infolettre.content.machine import LibreTranslate, engine
from infolettre.errors import InfoLettreError

KEY = "s3cret-key"
LANGUAGES = {"fr", "en", "es", "pt", "it"}


class _LibreTranslate(BaseHTTPRequestHandler):
    """The parts of LibreTranslate's ``/translate`` that a client can get wrong."""

    seen: list[dict]

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        if self.path != "/translate":
            return self._answer(404, {"error": "Not Found"})
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return self._answer(400, {"error": "Invalid request: missing q parameter"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not isinstance(body, dict):
            return self._answer(400, {"error": "Invalid JSON format"})
        self.seen.append(body)
        if body.get("api_key") != KEY:
            return self._answer(403, {"error": "Invalid API key"})
        for name in ("q", "source", "target"):
            if not body.get(name):
                return self._answer(400, {"error": f"Invalid request: missing {name} parameter"})
        for name in ("source", "target"):
            if body[name] not in LANGUAGES:
                return self._answer(400, {"error": f"{body[name]} is not supported"})
        if body.get("format", "text") not in ("text", "html"):
            return self._answer(400, {"error": f"{body['format']} format is not supported"})
        q = body["q"]
        texts = q if isinstance(q, list) else [q]
        done = [f"[{body['target']}] {t}" for t in texts]
        self._answer(200, {"translatedText": done if isinstance(q, list) else done[0]})

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict]]]:
    seen: list[dict] = []
    handler = type("Handler", (_LibreTranslate,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_texts_go_in_batches_and_come_back_in_order(server) -> None:
    url, seen = server
    texts = [f"texte {n}" for n in range(45)] + ["", "fin"]
    done = LibreTranslate(url, KEY).translate(texts, "fr", "en")
    assert done[:2] == ["[en] texte 0", "[en] texte 1"] and done[45] == "" \
        and done[46] == "[en] fin"
    assert [len(b["q"]) for b in seen] == [20, 20, 6]  # the empty text is not sent
    assert all(b["format"] == "text" and b["source"] == "fr" for b in seen)


def test_what_the_server_refuses_is_said_with_its_reason(server) -> None:
    url, _ = server
    with pytest.raises(InfoLettreError, match=r"refused \(403: Invalid API key\)"):
        LibreTranslate(url, "wrong").translate(["x"], "fr", "en")
    with pytest.raises(InfoLettreError, match="de is not supported"):
        LibreTranslate(url, KEY).translate(["x"], "fr", "de")
    with pytest.raises(InfoLettreError, match="does not answer"):
        LibreTranslate("http://127.0.0.1:9", KEY, timeout=2).translate(["x"], "fr", "en")


def test_the_engine_takes_its_key_from_the_environment_only() -> None:
    found = engine("libretranslate+https://lt.example.org/api?api_key_env=LT", {"LT": KEY})
    assert (found.url, found.api_key) == ("https://lt.example.org/api", KEY)
    assert engine("libretranslate+http://127.0.0.1:5000", {}).api_key == ""
    for bad in ("deepl+https://x", "libretranslate+ftp://x", "libretranslate+https://x?key=1",
                "libretranslate+https://u:p@x"):
        with pytest.raises(InfoLettreError, match="not a translation engine"):
            engine(bad, {})
    with pytest.raises(InfoLettreError, match="LT holds no API key"):
        engine("libretranslate+https://x?api_key_env=LT", {})


def test_a_machine_draft_is_marked_and_check_warns_until_reviewed(
        server, sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen = server
    monkeypatch.setenv("LT_KEY", KEY)
    item = sample / "news" / "summit-cdm21-rouen.md"
    result = CliRunner().invoke(cli, ["new-translation", str(item), "--lang", "en", "--engine",
                                      f"libretranslate+{url}?api_key_env=LT_KEY"])
    assert result.exit_code == 0, result.output
    written = item.with_name("summit-cdm21-rouen.en.md")
    text = written.read_text(encoding="utf-8")
    assert "\ntitle: '[en] SUMMIT CDM 21 à Rouen'\n" in text and "\nstatus: machine\n" in text
    assert "\n[en] Près de 60 personnes" in text  # the body, paragraph by paragraph
    assert seen[0]["q"][0] == "SUMMIT CDM 21 à Rouen" and KEY not in text
    warnings: list = []
    assert check_path(sample, Config(), warnings) == []
    assert [w.path for w in warnings if w.code == "W006"] == [written]
    written.write_text(text.replace("status: machine\n", ""), encoding="utf-8")  # reviewed
    warnings = []
    assert check_path(sample, Config(), warnings) == []
    assert not [w for w in warnings if w.code == "W006"]
