"""Several senders, one campaign: messages/s with 1, 2 and 4 ``infolettre send``
processes sharing a campaign on PostgreSQL, and 1 on SQLite for comparison.

Each run has a fresh database of N synthetic subscribers (a throwaway PostgreSQL
server from Debian's package, ``tests/postgres.py``; or a SQLite file) and a
fresh SMTP sink on 127.0.0.1 (``tests/smtpsink.py``, its own process) that waits
20 ms before answering each message's final dot, as a distant MTA does, and
counts the messages per recipient. K processes of ``infolettre send ISSUE --yes``
start together on the same campaign; the run's rate is N over the wall time from
their start to the last one's exit (whole commands: start-up, check, the edition
from the build's cache, sending). Every subscriber must have received the issue
exactly once: the sink's counts, and the journal's. For each run the CPU seconds
of the senders, of PostgreSQL (the postmaster and its backends) and of the sink
are printed, with the machine's busy share, so that what limits a rate is
measured rather than guessed.

Targets: >= 1.8x with 2 senders and >= 3.2x with 4, against 1; 0 duplicates.

Why 6 connections per sender (``--connections``): with a 20 ms answer to every
final dot, one connection carries at most 50 messages/s (measured: about 32/s,
the sender's own work adding some 11 ms to each cycle), so one sender with 6
sends about 190/s, using a fifth of a core: latency-bound. Each message costs
about 1.5 ms of CPU in all, measured on this 2-core machine (0.8 ms in the
sender, building it and writing the journal; 0.35 ms in PostgreSQL; 0.35 ms in
the sink), so the machine's ceiling is some 1,300 messages/s. Four senders of 6
connections ask for about 760/s, 1.15 cores, leaving room for the machine's
other work; with 8 they would ask 1.5 cores and with 16 more than the machine
has, and the runs would measure the CPU, not how the campaign's sharing scales.

    python bench/scale.py [--subscribers 50000] [--connections 6] [--senders 1,2,4]
                          [--delay 0.02] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "issues" / "2018-06"
sys.path.insert(0, str(ROOT))

from infolettre.config import Database  # noqa: E402
from tests.postgres import PostgresServer, binaries, unavailable  # noqa: E402
from tests.smtpsink import SmtpSink  # noqa: E402

INFOLETTRE = str(Path(sys.executable).with_name("infolettre"))
TICK = os.sysconf("SC_CLK_TCK")


def fill(where: Database, count: int) -> None:
    """``count`` active subscribers in a database (migrated already, or SQLite)."""
    from infolettre.store import NewSubscriber, Store

    with Store(where) as store, store.transaction():
        store.insert_many(NewSubscriber(f"abonne{n:06d}@example.org", name=f"Abonné {n}",
                                        consent_source="bench") for n in range(count))


def journal_counts(where: Database) -> dict[str, int]:
    """The campaign's rows by state, as the journal has them after the run."""
    from infolettre.content.layout import issue_slug
    from infolettre.store import Store

    with Store(where) as store:
        campaign = store.find_campaign(issue_slug(SAMPLE))
        return store.delivery_counts(campaign.id) if campaign else {}


# -- CPU ----------------------------------------------------------------------------------

def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command's name (field 3 first)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return f.read().rpartition(")")[2].split()


def tree_cpu(pid: int | None) -> float:
    """CPU seconds of ``pid``, of its children that exited, and of those running now:
    PostgreSQL's, through its postmaster (a sender's backend exits with it); 0 for none."""
    if pid is None:
        return 0.0
    try:
        fields = _stat(pid)
    except FileNotFoundError:
        return 0.0
    ticks = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                child = _stat(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(child[1]) == pid:
                ticks += sum(int(x) for x in child[11:15])
    return ticks / TICK


def machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks of all the machine's cores since boot."""
    with open("/proc/stat", encoding="ascii") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- one run ------------------------------------------------------------------------------

@dataclass
class Run:
    """What one run measured."""

    engine: str
    senders: int
    count: int
    seconds: float
    summaries: list[str]
    sink: dict
    journal: dict[str, int]
    cpu_senders: float
    cpu_database: float
    busy: float  # share of all the machine's cores busy during the run (anyone's work)
    failed: int  # senders that exited with an error


    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def exact(self) -> bool:
        """Every subscriber received the issue exactly once, and the journal agrees."""
        return (self.sink["messages"] == self.sink["recipients"] == self.count
                and self.journal.get("sent", 0) == self.count and not self.failed)


def run(engine: str, where: Database, senders: int, count: int, connections: int,
        delay: float, postmaster: int | None) -> Run:
    """``senders`` processes of ``infolettre send`` on one campaign to ``count``."""
    fill(where, count)
    received: dict = {}
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(SmtpSink(delay))
        stack.callback(lambda: received.update(sink.stop()))
        env = {**os.environ, "INFOLETTRE_DB": str(where),
               "INFOLETTRE_TRANSPORT": sink.dsn(connections=connections,
                                                max_per_connection=1000),
               "INFOLETTRE_CONFIG": str(ROOT / "infolettre.toml")}
        command = [INFOLETTRE, "send", str(SAMPLE), "--yes", "--skip-image-check"]
        logs = [stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
                for _ in range(senders)]
        cpu0, db0, busy0 = children_cpu(), tree_cpu(postmaster), machine_ticks()
        started = time.perf_counter()
        children = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=log,
                                     stderr=subprocess.STDOUT) for log in logs]
        codes = [child.wait() for child in children]
        seconds = time.perf_counter() - started
        time.sleep(0.3)  # the backends' exit, reaped by the postmaster
        cpu, db = children_cpu() - cpu0, tree_cpu(postmaster) - db0
        busy1 = machine_ticks()
        outputs = []
        for log in logs:
            log.seek(0)
            outputs.append(log.read())
    for code, output in zip(codes, outputs, strict=True):
        if code != 0:
            print(f"warning: a sender exited with {code}:\n{output}", file=sys.stderr)
    summaries = [next((line for line in output.splitlines() if line.startswith("campaign ")),
                      output.strip().splitlines()[-1] if output.strip() else "(no output)")
                 for output in outputs]
    return Run(engine, senders, count, seconds, summaries, received, journal_counts(where),
               cpu, db, (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1),
               sum(code != 0 for code in codes))


def show(r: Run, base: Run | None) -> None:
    ratio = (f" = {r.rate / base.rate:.2f}x "
             f"{'' if base.engine == r.engine else base.engine + ' with '}one sender"
             if base else "")
    sink = r.sink
    twice = (" (" + ", ".join(f"{a} x{n}" for a, n in list(sink["duplicates"].items())[:3])
             + ", …)") if sink["duplicates"] else ""
    database = (f"PostgreSQL {r.cpu_database:.1f}" if r.engine == "postgresql"
                else "SQLite's within the senders'")
    print(f"{r.engine}, {r.senders} sender{'s' * (r.senders > 1)}: {r.count:,} messages in "
          f"{r.seconds:.1f} s = {r.rate:,.0f} msg/s{ratio}")
    print(f"  CPU seconds: senders {r.cpu_senders:.1f} ({r.cpu_senders / r.count * 1e3:.2f} ms"
          f"/message), {database}, sink {sink['cpu']:.1f}; machine "
          f"busy {r.busy:.0%} of {os.cpu_count()} cores")
    print(f"  sink: {sink['messages']:,} messages to {sink['recipients']:,} recipients, "
          f"{sink['duplicated']} duplicated{twice}, "
          f"{sink['connections']} connections ({sink['most_open']} at once); journal: "
          f"{', '.join(f'{k} {v:,}' for k, v in sorted(r.journal.items()))}; every "
          f"subscriber exactly once: {'yes' if r.exact else 'NO'}")
    if r.failed:
        print(f"  {r.failed} sender{'s' * (r.failed > 1)} failed (their output above)")
    for line in r.summaries:
        print(f"    {line}")


def environment(server: PostgresServer | None) -> None:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.machine())
    version = "none"
    if server is not None:
        import psycopg

        with psycopg.connect(server.url(), autocommit=True) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            version = row[0] if row else "unknown"
    import sqlite3

    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine: {os.cpu_count()} cores ({model}), load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; Python "
          f"{platform.python_version()}; PostgreSQL {version} (fsync off, Unix socket); "
          f"SQLite {sqlite3.sqlite_version}")


def prepare() -> None:
    """Byte-compiled modules and the edition in the build's cache, as bench/send.py has
    them: the senders' start-up is then what an editor's is after `infolettre build`."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "infolettre")],
                   check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
    with tempfile.TemporaryDirectory(prefix="infolettre-scale-") as out:
        subprocess.run([INFOLETTRE, "--config", str(ROOT / "infolettre.toml"), "build",
                        str(SAMPLE), "--out", out], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def senders_list(text: str) -> list[int]:
    try:
        counts = [int(x) for x in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give sender counts like 1,2,4")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=50_000)
    parser.add_argument("--connections", type=int, default=6,
                        help="SMTP connections of each sender (see the docstring)")
    parser.add_argument("--senders", type=senders_list, default=[1, 2, 4],
                        help="sender processes of each PostgreSQL run, the first the base")
    parser.add_argument("--delay", type=float, default=0.02,
                        help="the sink's wait before answering each final dot (seconds)")
    parser.add_argument("--no-sqlite", action="store_true",
                        help="skip the SQLite run")
    args = parser.parse_args()
    if args.subscribers < 1 or args.connections < 1:
        parser.error("--subscribers and --connections must be at least 1")
    reason = unavailable()
    if reason:
        sys.exit(f"bench/scale.py: {reason}")
    print(f"PostgreSQL from {binaries()}")
    server = PostgresServer().start()
    runs: list[Run] = []
    try:
        environment(server)
        print(f"{args.subscribers:,} subscribers; {args.connections} SMTP connections per "
              f"sender; the sink answers each final dot after {args.delay * 1e3:g} ms")
        prepare()
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
        for senders in args.senders:
            runs.append(run("postgresql", server.migrated(), senders, args.subscribers,
                            args.connections, args.delay, postmaster))
            show(runs[-1], runs[0] if len(runs) > 1 else None)
    finally:
        server.stop()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="infolettre-scale-") as folder:
            runs.append(run("sqlite", Path(folder) / "infolettre.db", 1, args.subscribers,
                            args.connections, args.delay, None))
        show(runs[-1], runs[0])
    targets = {2: 1.8, 4: 3.2}
    for r in runs[1:]:
        if r.engine == "postgresql" and r.senders in targets:
            got = r.rate / runs[0].rate
            print(f"target {r.senders} senders >= {targets[r.senders]}x: {got:.2f}x "
                  f"{'met' if got >= targets[r.senders] else 'NOT met'}")
    duplicated = sum(r.sink["duplicated"] for r in runs)
    exact = all(r.exact for r in runs)
    print(f"duplicates: {duplicated}; every subscriber exactly once in every run: "
          f"{'yes' if exact else 'NO'}")
    if not exact:
        sys.exit(1)


if __name__ == "__main__":
    main()
