"""Shared fixtures: the sample issue in a scratch folder, a fixed configuration,
golden-file regeneration, and a headless Chromium when the machine has one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from infolettre.config import Config

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "issues" / "2018-06"
CORPUS = Path(__file__).resolve().parent / "corpus"
GOLDEN = Path(__file__).resolve().parent / "golden"
BASE_URL = "https://www.reseaucitesdesmetiers.com/infolettre"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite tests/golden/ from the current output instead of comparing.")


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
