"""The web service as a real process on 127.0.0.1, for tests and benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from infolettre.audience import consent as sub
from infolettre.config import Database
from infolettre.edition.archive import set_published
from infolettre.store import Store, Subscriber

from .conftest import ROOT
from .net import free_port


@dataclass
class Service:
    url: str
    db: Database
    outbox: Path
    process: subprocess.Popen
    env: dict[str, str]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_service(folder: Path, extra_env: dict[str, str] | None = None, *,
                  issues: Path | None = None, args: tuple[str, ...] = (),
                  publish: tuple[str, ...] = (), pdf: bool = False,
                  db: Database | None = None) -> Service:
    """``infolettre serve`` on a free port, its outbox in ``folder``, its database
    ``db`` (a PostgreSQL database, migrated) or a SQLite file in ``folder``.

    The issues in ``publish`` are published in the archive first (as
    ``infolettre archive --publish`` does): an issue not sent is not shown. The
    archive's PDFs (seconds each) only with ``pdf``: the tests of the PDF ask for them.
    """
    db = folder / "db.sqlite" if db is None else db
    if publish:
        with Store(db) as store:
            for issue in publish:
                set_published(store, issue, True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    conf = folder / "infolettre.toml"
    conf.write_text(
        f'base_url = "{url}"\nissues_dir = "{issues or ROOT / "issues"}"\n'
        f'db = "{db}"\n'
        f'transport = "outbox://{folder / "outbox"}"\n'
        'sender = "InfoLettre <infolettre@reseaucitesdesmetiers.com>"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("INFOLETTRE_DB", "INFOLETTRE_TRANSPORT", "INFOLETTRE_BASE_URL")}
    env.update({"INFOLETTRE_CONFIG": str(conf), **(extra_env or {})})
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "infolettre", "serve", "--port", str(port),
                                *(() if pdf else ("--no-pdf",)), *args], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Service(url, db, folder / "outbox", process, env)
        except httpx.TransportError:
            time.sleep(0.1)
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("the service did not start:\n" + (folder / "serve.log").read_text())


class _HasDb(Protocol):
    db: Database


_counter = iter(range(10**6))


def subscriber(where: _HasDb, status: str = "active", lang: str = "fr") -> Subscriber:
    """A new subscriber with a unique address in ``where.db`` (a Service or a Config)."""
    with Store(where.db) as store:
        email = f"s{next(_counter)}-{time.monotonic_ns()}@example.org"
        with store.transaction():
            store.insert(email, lang=lang, status=status, consent_source="test")
        found = store.get(email)
        assert found is not None
        return found


def status_of(where: _HasDb, email: str) -> str:
    """The status of ``email`` in ``where.db``."""
    with Store(where.db) as store:
        found = store.get(email)
        assert found is not None
        return found.status


def token(where: _HasDb, purpose: str, who: Subscriber) -> str:
    """A token for ``purpose`` signed with ``where.db``'s secret."""
    with Store(where.db) as store:
        return sub.token_for(store, purpose, who)
