"""bench: the benchmark that needs no outside tool still runs (so it cannot rot unseen)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_build_bench_runs() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "build.py"), "--runs", "1"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "premailer share of the build" in result.stdout
    assert "load+check" in result.stdout
