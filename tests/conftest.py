"""Shared fixtures: the sample issue in a scratch folder, a fixed configuration,
golden-file and corpus regeneration, and a headless Chromium when the machine has one.

After an intended change of output, regenerate the golden files with
``pytest tests/edition/test_build.py --update-golden`` and what ``check`` says of
the corpus of broken files (``tests/corpus/expected.txt``) with
``pytest tests/content/test_check.py --update-corpus``; review the diff.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from infolettre.config import Config, Database

from .postgres import PostgresServer, unavailable

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "issues" / "2018-06"
CORPUS = Path(__file__).resolve().parent / "corpus"
GOLDEN = Path(__file__).resolve().parent / "golden"
BASE_URL = "https://www.reseaucitesdesmetiers.com/infolettre"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite tests/golden/ from the current output instead of comparing.")
    parser.addoption("--update-corpus", action="store_true",
                     help="Rewrite tests/corpus/expected.txt from what check says now.")


def pytest_configure(config: pytest.Config) -> None:
    # Before collection: the corpus tests are parametrized by the file's cases.
    if config.getoption("--update-corpus", default=False):
        update_corpus()


EXPECTED = CORPUS / "expected.txt"


def corpus_expectations() -> dict[str, list[str]]:
    """What ``check`` says of each case of the corpus: ``== CASE`` then its lines."""
    cases: dict[str, list[str]] = {}
    current = ""
    for line in EXPECTED.read_text(encoding="utf-8").splitlines():
        if line.startswith("== "):
            current = line[3:]
            cases[current] = []
        elif line:
            cases[current].append(line)
    return cases


def corpus_text(cases: dict[str, list[str]]) -> str:
    """``expected.txt`` for ``cases``, in the format ``corpus_expectations`` reads."""
    return "".join(f"== {name}\n" + "".join(f"{line}\n" for line in lines)
                   for name, lines in cases.items())


def corpus_report(name: str) -> list[str]:
    """What ``check`` says now of the corpus case ``name``, paths as seen from the corpus."""
    from infolettre.content.check import check_path

    with contextlib.chdir(CORPUS):
        return [str(p) for p in check_path(Path(name), Config())]


#: The languages whose ``check --lang`` output of the whole corpus is kept word for word.
SAID_LANGS = ("en", "fr")


def said_file(lang: str) -> Path:
    """The golden file of what ``check --lang LANG`` prints for every case of the corpus."""
    return CORPUS / f"check-{lang}.txt"


def corpus_said(lang: str) -> str:
    """What ``infolettre check CASE --lang LANG`` prints now for each case of the corpus,
    standard output then error, under ``== CASE (exit N)``."""
    from click.testing import CliRunner

    from infolettre.cli import cli

    out = []
    with contextlib.chdir(CORPUS):
        for name in corpus_expectations():
            result = CliRunner().invoke(cli, ["check", name, "--lang", lang])
            out.append(f"== {name} (exit {result.exit_code})\n{result.stdout}{result.stderr}")
    return "".join(out)


def update_corpus() -> None:
    """Rewrite ``expected.txt``: every file of ``broken/``, then the folders it lists;
    then what ``check`` prints of them in each of ``SAID_LANGS``."""
    broken = [f"broken/{p.name}" for p in sorted((CORPUS / "broken").iterdir())]
    others = [name for name in corpus_expectations() if not name.startswith("broken/")]
    EXPECTED.write_text(corpus_text({name: corpus_report(name) for name in broken + others}),
                        encoding="utf-8")
    for lang in SAID_LANGS:
        said_file(lang).write_text(corpus_said(lang), encoding="utf-8")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The configuration the golden files were made with (and a cache of its own)."""
    return Config(base_url=BASE_URL, cache_dir=tmp_path / "edition-cache")


@pytest.fixture
def issues(tmp_path: Path) -> Path:
    """A scratch copy of issues/ (the sample issue and the directory of centres)."""
    target = tmp_path / "issues"
    shutil.copytree(ROOT / "issues", target)
    return target


@pytest.fixture
def sample(issues: Path) -> Path:
    """A scratch copy of the sample issue, free to edit."""
    return issues / "2018-06"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole run (``tests/postgres.py``), or a
    skip saying why there is none; INFOLETTRE_REQUIRE_TOOLS=1 (CI) makes that a failure."""
    reason = unavailable()
    if reason:
        if os.environ.get("INFOLETTRE_REQUIRE_TOOLS"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A new database of each engine, ready for a Store: a SQLite file in the test's
    folder, or a database of its own on the session's PostgreSQL server, migrated."""
    if request.param == "sqlite":
        return tmp_path / "infolettre.db"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.migrated()


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium (Playwright), or a skip when the machine has none.

    CI sets INFOLETTRE_REQUIRE_CHROMIUM=1 so that a missing browser fails the
    run instead of skipping the browser tests silently.
    """
    from infolettre.edition.proof import browser
    from infolettre.errors import InfoLettreError

    try:
        with browser() as instance:
            yield instance
    except InfoLettreError as exc:
        if os.environ.get("INFOLETTRE_REQUIRE_CHROMIUM"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
