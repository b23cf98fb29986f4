"""Sending speed and memory: InfoLettre against mailmerge and smtp-source, one run.

Starts Postfix's smtp-sink (a fast C SMTP server) on 127.0.0.1 and sends the
sample issue through it, measuring in the same run:

- InfoLettre: ``infolettre send`` to N synthetic subscribers, after ``infolettre
  build`` as an editor would run them (so the edition comes from the build's
  cache), wall time of the whole command, messages/s;
- mailmerge (PyPI), the same HTML to the same list (one SMTP connection per
  message, as mailmerge does), wall time of the whole command, messages/s;
- smtp-source (Postfix), messages of the same size over the same number of
  sessions, messages/s: the speed of a C client, the ceiling;
- peak RSS of ``infolettre send`` to N and to 10 x N subscribers;
- InfoLettre again with every message DKIM-signed (a fresh 2048-bit RSA key).

Targets: >= 10x mailmerge, >= 0.6x smtp-source, and a peak RSS that does not grow
with the list. Needs Debian's postfix (smtp-sink, smtp-source) and mailmerge.

    python bench/send.py [--subscribers 5000] [--connections 16]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "issues" / "2018-06"
sys.path.insert(0, str(ROOT))

from tests.net import free_port  # noqa: E402


def tool(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}",
                      str(Path(sys.executable).with_name(name))):
        if candidate and Path(candidate).is_file():
            return candidate
    sys.exit(f"bench/send.py: {name} not found (apt-get install postfix; pip install mailmerge)")


def make_db(path: Path, count: int) -> None:
    """``count`` active subscribers, written straight into a new database."""
    sys.path.insert(0, str(ROOT))
    from infolettre.store import Store

    Store(path).close()  # creates the schema
    conn = sqlite3.connect(path)
    stamp = "2018-06-01T00:00:00+00:00"
    with conn:
        conn.executemany(
            "INSERT INTO subscribers (email, name, lang, status, consent_source, consent_at, "
            "created_at, updated_at) VALUES (?, ?, 'fr', 'active', 'bench', ?, ?, ?)",
            ((f"abonne{n:06d}@example.org", f"Abonné {n}", stamp, stamp, stamp)
             for n in range(count)))
    conn.close()


def _peak_rss(pid: int) -> int:
    """The process's peak RSS so far (VmHWM, KiB), 0 once it has exited.

    Not ru_maxrss: Linux carries it across exec, so a child forked from this
    (large) process would report this process's size.
    """
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB, sampled every 10 ms) and output of a child process."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        started = time.perf_counter()
        child = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        peak = 0
        while child.poll() is None:
            peak = max(peak, _peak_rss(child.pid))
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if child.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{output}")
    return elapsed, peak, output


def infolettre(tmp: Path, port: int, count: int, connections: int, *, dkim: bool = False
               ) -> tuple[float, int, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    db = tmp / f"bench-{count}.db"
    make_db(db, count)
    env = {**os.environ, "INFOLETTRE_DB": str(db),
           "INFOLETTRE_TRANSPORT": f"smtp://127.0.0.1:{port}?security=none"
                                   f"&connections={connections}&max_per_connection=1000",
           "INFOLETTRE_CONFIG": str(ROOT / "infolettre.toml")}
    if dkim:  # the same settings, plus a fresh 2048-bit key
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        config = tmp / "infolettre.toml"
        config.write_text((ROOT / "infolettre.toml").read_text(encoding="utf-8")
                          + '\ndkim_domain = "reseaucitesdesmetiers.com"\n'
                          'dkim_selector = "bench"\n', encoding="utf-8")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        env["INFOLETTRE_CONFIG"] = str(config)
        env["INFOLETTRE_DKIM_KEY"] = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
    return run_measured([str(Path(sys.executable).with_name("infolettre")), "send",
                         str(SAMPLE), "--yes", "--skip-image-check"], env)


def message_size(tmp: Path) -> int:
    """Size of one message of the sample issue, as InfoLettre sends it."""
    sys.path.insert(0, str(ROOT))
    from infolettre.config import load_config
    from infolettre.delivery.message import MessageFactory, Recipient
    from infolettre.edition.build import build_edition, load_publishable

    config = load_config(ROOT / "infolettre.toml")
    edition = build_edition(load_publishable(SAMPLE, config), config)
    html_path = tmp / "email.html"
    html_path.write_text(edition.html, encoding="utf-8")
    message = MessageFactory(edition, config, "bench", b"k").build(
        Recipient(1, "abonne000001@example.org", "Abonné"))
    return len(message)


def mailmerge(tmp: Path, port: int, count: int) -> float:
    """Messages/s of mailmerge sending the same HTML to ``count`` recipients."""
    html = (tmp / "email.html").read_text(encoding="utf-8")
    (tmp / "template.txt").write_text(
        "TO: {{email}}\nSUBJECT: InfoLettre juin 2018\nFROM: infolettre@example.org\n"
        "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"
        + "{% raw %}" + html + "{% endraw %}", encoding="utf-8")
    (tmp / "database.csv").write_text(
        "email\n" + "".join(f"abonne{n:06d}@example.org\n" for n in range(count)),
        encoding="utf-8")
    (tmp / "server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\n", encoding="utf-8")
    elapsed, _, _ = run_measured(
        [tool("mailmerge"), "--no-dry-run", "--no-limit", "--output-format", "raw",
         "--template", str(tmp / "template.txt"), "--database", str(tmp / "database.csv"),
         "--config", str(tmp / "server.conf")], dict(os.environ))
    return count / elapsed


def smtp_source(port: int, count: int, sessions: int, size: int) -> float:
    started = time.perf_counter()
    subprocess.run([tool("smtp-source"), "-d", "-s", str(sessions), "-m", str(count),
                    "-l", str(size), "-f", "bounces@example.org", "-t", "abonne@example.org",
                    f"127.0.0.1:{port}"], check=True)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=16,
                        help="SMTP connections of InfoLettre, and sessions of smtp-source")
    parser.add_argument("--mailmerge-sample", type=int, default=0,
                        help="send mailmerge's run to fewer recipients (default: the same list)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds; medians are reported (the machine is noisy)")
    args = parser.parse_args()
    n = args.subscribers
    sample = args.mailmerge_sample or n
    port = free_port()
    sink = subprocess.Popen([tool("smtp-sink"), "-u", "nobody", "-m", "200",
                             f"127.0.0.1:{port}", "512"])
    time.sleep(0.5)
    ours, inrun, rss, mm, src = [], [], [], [], []
    try:
        with tempfile.TemporaryDirectory(prefix="infolettre-bench-") as name:
            tmp = Path(name)
            size = message_size(tmp)
            # Byte-compile InfoLettre as pip does when it installs a package (mailmerge's
            # is): an editable checkout run with PYTHONDONTWRITEBYTECODE would otherwise
            # compile its modules again at every start.
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "infolettre")],
                           check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
            subprocess.run([str(Path(sys.executable).with_name("infolettre")), "--config",
                            str(ROOT / "infolettre.toml"), "build", str(SAMPLE), "--out",
                            str(tmp / "build")], check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            for r in range(args.rounds):
                secs, peak, out = infolettre(tmp / f"r{r}", port, n, args.connections)
                ours.append(n / secs)
                inrun.append(out.strip().splitlines()[0])
                rss.append(peak)
                mm.append(mailmerge(tmp, port, sample))
                src.append(smtp_source(port, n, args.connections, size))
            secs_big, rss_big, _ = infolettre(tmp / "big", port, n * 10, args.connections)
            secs_dkim, _, _ = infolettre(tmp / "dkim", port, n, args.connections, dkim=True)
    finally:
        sink.terminate()
        sink.wait()
    med = statistics.median
    print(f"message: {size / 1024:.1f} KB; {args.connections} connections; Postfix smtp-sink "
          f"on 127.0.0.1; medians of {args.rounds} interleaved rounds")
    print(f"infolettre send, {n} subscribers: {med(ours):,.0f} msg/s (whole command after "
          "`infolettre build`: start-up, check, edition from the build's cache, sending; "
          f"rounds: {', '.join(f'{x:,.0f}' for x in ours)})")
    for line in inrun:
        print(f"  {line}")
    print(f"mailmerge, {sample} recipients: {med(mm):,.0f} msg/s  -> InfoLettre "
          f"is {med(ours) / med(mm):.1f}x mailmerge (target >= 10x)")
    print(f"smtp-source, {n} messages: {med(src):,.0f} msg/s  -> InfoLettre is "
          f"{med(ours) / med(src):.2f}x smtp-source (target >= 0.6x)")
    phase = [float(m.group(1)) for line in inrun
             if (m := re.search(r"\((\d+)/s", line))]
    if phase:
        print(f"  sending phase alone (the campaign's own rate, without start-up): "
              f"{med(phase):,.0f} msg/s = {med(phase) / med(src):.2f}x smtp-source")
    print(f"peak RSS: {med(rss) / 1024:.0f} MiB for {n} subscribers, {rss_big / 1024:.0f} MiB "
          f"for {n * 10} ({n * 10 / secs_big:,.0f} msg/s): x{rss_big / med(rss):.2f} for 10x "
          "the list")
    print(f"DKIM-signed (rsa-sha256, 2048 bits), {n} subscribers: {n / secs_dkim:,.0f} msg/s "
          "(whole command)")


if __name__ == "__main__":
    main()
