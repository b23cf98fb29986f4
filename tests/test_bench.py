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


def test_scale_bench_runs(postgres_server: object) -> None:
    """bench/scale.py at a tiny size, on both engines (the PostgreSQL server it needs
    is the one the postgres_server fixture checks for, or skips without)."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py"),
                             "--subscribers", "30", "--connections", "2", "--senders", "1"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "postgresql, 1 sender: 30 messages" in result.stdout
    assert "sqlite, 1 sender: 30 messages" in result.stdout
    assert "every subscriber exactly once in every run: yes" in result.stdout
