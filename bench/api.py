"""HTTP API transports at scale: 100,000 recipients through the Brevo and Postmark fakes.

Each fake (tests/providers.py, which enforces the provider's contract) runs as
a real HTTP server in its own process on 127.0.0.1; ``infolettre send`` runs in
another, timed from start to end, its peak RSS read from /proc (VmHWM). Prints,
per provider: recipients/s, HTTP requests (expected: ceil(N / batch size) plus
retries), duplicates seen by the fake, peak RSS; and the RSS for N / 10, to
show that memory does not grow with the list.

    python bench/api.py [--recipients 100000] [--providers brevo,postmark]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from send import ROOT, SAMPLE, make_db, run_measured

SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.providers import FAKES, serve
fake = FAKES[{name!r}]()
fake.light = True
server = serve(fake)
print(server.server_address[1], flush=True)
time.sleep(1e9)
"""
BATCH = {"brevo": 1000, "postmark": 500}
BASE = {"brevo": "/v3", "postmark": ""}


def run(provider: str, count: int, tmp: Path, connections: int) -> dict:
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(root=str(ROOT),
                                                                   name=provider)],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        db = tmp / f"{provider}-{count}.db"
        make_db(db, count)
        key = "test-key-0123456789"
        dsn = (f"{provider}+api://{key}@default?base_url=http://127.0.0.1:{port}"
               f"{BASE[provider]}&connections={connections}")
        env = {**os.environ, "INFOLETTRE_DB": str(db), "INFOLETTRE_TRANSPORT": dsn,
               "INFOLETTRE_CONFIG": str(ROOT / "infolettre.toml")}
        secs, peak, out = run_measured(
            [str(Path(sys.executable).with_name("infolettre")), "send", str(SAMPLE), "--yes",
             "--skip-image-check"],
            env)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=30) as r:
            stats = json.loads(r.read())
    finally:
        server.terminate()
        server.wait()
    return {"secs": secs, "rss": peak, "out": out.strip().splitlines()[0], **stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--providers", default="brevo,postmark")
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    n = args.recipients
    with tempfile.TemporaryDirectory(prefix="infolettre-bench-api-") as name:
        tmp = Path(name)
        for provider in args.providers.split(","):
            small = run(provider, n // 10, tmp, args.connections)
            big = run(provider, n, tmp, args.connections)
            expected = math.ceil(n / BATCH[provider])
            print(f"{provider}: {n:,} recipients in {big['secs']:.1f} s = "
                  f"{n / big['secs']:,.0f} recipients/s (whole command), "
                  f"{big['requests']} HTTP requests (ceil(N / {BATCH[provider]}) = {expected}), "
                  f"{big['recipients']:,} recipients received, {big['duplicates']} duplicates")
            print(f"  {big['out']}")
            print(f"  peak RSS {big['rss'] / 1024:.0f} MiB for {n:,}; "
                  f"{small['rss'] / 1024:.0f} MiB for {n // 10:,} "
                  f"(x{big['rss'] / small['rss']:.2f} for 10x the list)")


if __name__ == "__main__":
    main()
