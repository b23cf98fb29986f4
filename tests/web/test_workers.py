"""serve --workers N: on PostgreSQL, what guards the service holds across its processes;
on SQLite, more than one worker is refused with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from infolettre.audience import consent as sub
from infolettre.cli import cli

from ..service import Service, start_service, status_of, subscriber, token
from .test_app import MAILGUN_KEY, _mailgun


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory, postgres_server) -> Iterator[Service]:
    svc = start_service(tmp_path_factory.mktemp("workers"),
                        {"INFOLETTRE_MAILGUN_SIGNING_KEY": MAILGUN_KEY},
                        args=("--workers", "2", "--forwarded-allow-ips", "127.0.0.1"),
                        db=postgres_server.migrated())
    yield svc
    svc.stop()


def _cpu(pid: int) -> int:
    """Clock ticks of CPU ``pid`` has used (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _fresh(svc: Service, **headers: str) -> httpx.Client:
    """A client that opens a new connection for every request: each may be accepted by
    either worker."""
    return httpx.Client(base_url=svc.url, timeout=30, headers={"Connection": "close", **headers})


def test_two_workers_serve_and_share_the_rate_limit(workers: Service) -> None:
    """The subscription form's limit (5 per client per ten minutes) holds for the sum
    of what both workers were asked, whichever took each connection (both did: each
    worker process used CPU meanwhile)."""
    children = _children(workers.process.pid)
    before = {pid: _cpu(pid) for pid in children}
    with _fresh(workers, **{"X-Forwarded-For": "198.51.100.7"}) as c:
        codes = [c.post("/subscribe", data={"email": f"w{n}@example.org"}).status_code
                 for n in range(12)]
    assert codes == [200] * 5 + [429] * 7
    busy = [pid for pid in children if _cpu(pid) > before[pid]]
    assert len(busy) >= 2, "one worker took every connection"


def test_a_webhook_replayed_to_the_other_worker_is_refused(workers: Service) -> None:
    who = subscriber(workers)
    body = _mailgun(who, "failed")
    with _fresh(workers) as c:
        codes = [c.post("/webhooks/mailgun", json=body).status_code for _ in range(8)]
    assert codes == [200] + [409] * 7
    assert status_of(workers, who.email) == "bounced"


def test_a_one_click_link_works_on_every_worker(workers: Service) -> None:
    people = [subscriber(workers) for _ in range(6)]
    with _fresh(workers) as c:
        for who in people:
            url = f"/unsubscribe/{token(workers, sub.UNSUBSCRIBE, who)}"
            assert c.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert {status_of(workers, who.email) for who in people} == {"unsubscribed"}


def test_several_workers_on_sqlite_are_refused_with_the_reason(tmp_path: Path,
                                                               monkeypatch) -> None:
    monkeypatch.setenv("INFOLETTRE_DB", str(tmp_path / "db.sqlite"))
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code == 2, result.output
    assert "--workers 2: the database is the SQLite file" in result.output
    assert "infolettre db copy --to postgresql://" in result.output
