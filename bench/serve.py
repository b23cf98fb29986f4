"""The one-click unsubscribe endpoint under a few thousand concurrent requests.

Starts ``infolettre serve`` on 127.0.0.1 with a database of N subscribers, then
POSTs ``List-Unsubscribe=One-Click`` to their N distinct unsubscribe URLs with C
connections open at once, from wrk (Debian package) in another process: a
Python client saturates its own core long before the service does. Prints
requests/s, errors, latency percentiles (wrk's), and checks that every
subscriber ended unsubscribed, with one event each.

``--postgresql`` runs it on a throwaway PostgreSQL server (Debian's package,
``tests/postgres.py``) instead of a SQLite file, and ``--workers 1,2`` once per
number of uvicorn worker processes (``serve --workers``, PostgreSQL only), each
on a fresh database.

    python bench/serve.py [--subscribers 20000] [--connections 2000] [--seconds 10]
                          [--postgresql] [--workers 1]
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infolettre.audience import consent as sub  # noqa: E402
from infolettre.config import Database  # noqa: E402
from infolettre.store import Store  # noqa: E402
from tests.postgres import PostgresServer, unavailable  # noqa: E402
from tests.service import start_service  # noqa: E402

WRK_SCRIPT = """
local paths, n = {}, 0
for line in io.lines("%s") do table.insert(paths, line) end
wrk.method = "POST"
wrk.body = "List-Unsubscribe=One-Click"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  n = n %% #paths + 1
  return wrk.format(nil, paths[n])
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--postgresql", action="store_true",
                        help="a PostgreSQL database rather than a SQLite file")
    parser.add_argument("--workers", default="1",
                        help="numbers of worker processes to measure, comma-separated")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit("bench/serve.py: wrk not found (apt-get install wrk)")
    workers = [int(n) for n in args.workers.split(",")]
    if max(workers) > 1 and not args.postgresql:
        sys.exit("bench/serve.py: several workers need --postgresql")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # wrk and uvicorn inherit it
    server = None
    if args.postgresql:
        reason = unavailable()
        if reason:
            sys.exit(f"bench/serve.py: {reason}")
        server = PostgresServer().start()
    try:
        for n in workers:
            with tempfile.TemporaryDirectory(prefix="infolettre-bench-serve-") as name:
                db = server.migrated() if server else None
                measure(wrk, Path(name), db, n, args)
    finally:
        if server:
            server.stop()


def measure(wrk: str, folder: Path, db: Database | None, workers: int,
            args: argparse.Namespace) -> None:
    """One run of wrk against a service of ``workers`` processes on ``db``."""
    service = start_service(folder, db=db, args=("--workers", str(workers)))
    try:
        with Store(service.db) as store:
            with store.transaction():
                for n in range(args.subscribers):
                    store.insert(f"abonne{n:06d}@example.org", consent_source="bench")
            paths = [f"/unsubscribe/{sub.token_for(store, sub.UNSUBSCRIBE, s)}"
                     for s in store.select()]
        (folder / "paths.txt").write_text("\n".join(paths) + "\n", encoding="ascii")
        (folder / "post.lua").write_text(WRK_SCRIPT % (folder / "paths.txt"), encoding="ascii")
        result = subprocess.run(
            [wrk, "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
             "--timeout", "30s", "-s", str(folder / "post.lua"), service.url],
            capture_output=True, text=True, check=True)
    finally:
        service.stop()
    with Store(service.db) as store:
        unsubscribed = store.count("unsubscribed")
        events = store.conn.execute(
            "SELECT count(*) FROM events WHERE kind = 'unsubscribed'").fetchone()[0]
    out = result.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
    total = re.search(r"(\d+) requests in", out).group(1)
    p = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.MULTILINE))
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    engine = "PostgreSQL" if args.postgresql else "SQLite"
    print(f"one-click unsubscribe, {engine}, {workers} worker{'s' * (workers != 1)}, "
          f"{args.connections} connections, {args.seconds} s, {args.subscribers} distinct "
          f"URLs: {float(rate):,.0f} requests/s ({total} requests)")
    print(f"  latency p50 {p.get('50')}, p90 {p.get('90')}, p99 {p.get('99')}; "
          f"non-2xx: {non2xx.group(1) if non2xx else 0}; "
          f"socket errors: {errors.group(1) if errors else 'none'}")
    print(f"  {unsubscribed} subscribers unsubscribed, {events} unsubscribe events "
          "(one per subscriber: wrk's two threads each walk the list, so most URLs got "
          "two POSTs)")


if __name__ == "__main__":
    main()
