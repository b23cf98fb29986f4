"""Cold-process build time of the sample issue and of a synthetic 60-item issue.

Prints, measured in the same run on this machine:
- the wall time of `infolettre build` in a new process (median of several runs),
  against the floor of any Python CLI: a bare `python -c pass`;
- where the time goes inside one build (imports, load+check, render, premailer,
  writing), and premailer's share of it;
- the cold build of the sample as five editions (fr, en, es, pt, it, through the
  configuration's ``languages``) against the same issue as one edition: what does
  not depend on the edition (imports, load, check, images) is done once.
- the PDF edition's own cost (WeasyPrint), apart: importing it, laying out and
  writing the PDF of the sample as one edition, its pages and size, and the cold
  `infolettre build` with the PDF. Every other figure is of `build --no-pdf`.
Targets: the sample issue builds in <= 1 s wall, cold, without the PDF; five editions
in <= 1.5x the time of one.

    python bench/build.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "issues" / "2018-06"
FIVE = ("fr", "en", "es", "pt", "it")
EDITIONS_TARGET = 1.5

PHASES = r"""
import json, sys, tempfile, time
t0 = time.perf_counter()
from pathlib import Path
from infolettre.edition import build
from infolettre.content import check
from infolettre.edition import inline
from infolettre.edition import quality
from infolettre.edition import render
from infolettre.config import Config
t1 = time.perf_counter()
marks = {}
def timed(name, fn):
    def wrapper(*a, **k):
        s = time.perf_counter(); r = fn(*a, **k)
        marks[name] = marks.get(name, 0) + time.perf_counter() - s; return r
    return wrapper
check.load_checked = timed("load+check", check.load_checked)
render.render_edition = timed("render", render.render_edition)
inline.inline_css = timed("premailer", inline.inline_css)
build.atomic_write = timed("write", build.atomic_write)
quality.email_warnings = timed("quality checks", quality.email_warnings)
config = Config(cache_dir=Path(tempfile.mkdtemp()))  # an empty cache: really render
built = build.build_issue(Path(sys.argv[1]), Path(sys.argv[2]), config)
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "total": t2 - t0, "html_kb": built.html_bytes / 1024,
                  **marks}))
"""


PDF_COST = r"""
import json, sys, tempfile, time
from pathlib import Path
from infolettre.config import Config
from infolettre.edition import build, pdf
config = Config(cache_dir=Path(tempfile.mkdtemp()))
build.build_issue(Path(sys.argv[1]), Path(sys.argv[2]), config)  # warm what is not the PDF's
t0 = time.perf_counter()
missing = pdf.available()  # imports WeasyPrint (and Pango)
t1 = time.perf_counter()
if missing:
    print(json.dumps({"missing": missing})); sys.exit()
written, write = [], pdf.write_pdf
def timed(*a, **k):
    s = time.perf_counter(); r = write(*a, **k); written.append(time.perf_counter() - s)
    return r
pdf.write_pdf = timed
report = build.build_issue(Path(sys.argv[1]), Path(sys.argv[2]), config, pdf=True)
[path] = report.pdfs.values()
print(json.dumps({"import": t1 - t0, "render": sum(written), "path": str(path),
                  "kb": path.stat().st_size / 1024}))
"""


def pdf_cost(tmp: Path, exe: str, runs: int) -> str:
    """The PDF edition's own cost for the sample as one edition, as lines to print."""
    issue = one_edition_issue(tmp / "pdf" / "issues")
    out = tmp / "pdf-out"
    cost = json.loads(subprocess.run([sys.executable, "-c", PDF_COST, str(issue), str(out)],
                                     check=True, capture_output=True, text=True,
                                     cwd=ROOT).stdout)
    if "missing" in cost:
        return f"PDF edition: not measured: {cost['missing']}"
    info = subprocess.run(["pdfinfo", cost["path"]], capture_output=True, text=True,
                          check=False).stdout if shutil.which("pdfinfo") else ""
    pages = re.search(r"Pages:\s+(\d+)", info)
    cache = tmp / "pdf-cache"
    conf = tmp / "pdf.toml"
    conf.write_text(f'cache_dir = "{cache}"\nlanguages = []\n', encoding="utf-8")
    build = [exe, "--config", str(conf), "build", str(issue), "--out", str(out)]
    without, with_pdf = (wall([*build, "--no-pdf"], runs, cache), wall(build, runs, cache))
    return "\n".join([
        f"PDF edition of the sample, one edition (fr): {pages.group(1) if pages else '?'} "
        f"pages A4, {cost['kb']:.0f} KB",
        f"  import WeasyPrint {cost['import'] * 1000:7.0f} ms",
        f"  lay out + write  {cost['render'] * 1000:7.0f} ms",
        f"  `infolettre build` cold, median of {runs}: {with_pdf * 1000:.0f} ms with the PDF, "
        f"{without * 1000:.0f} ms with --no-pdf (the PDF's share: "
        f"{(with_pdf - without) * 1000:.0f} ms)"])


def synthetic_issue(target: Path, items: int) -> Path:
    """A copy of the sample issue whose news section holds ``items`` items."""
    shutil.copytree(ROOT / "issues", target)
    news = target / SAMPLE.name / "news"
    sources = sorted(p for p in news.glob("*.md") if "." not in p.stem)  # not NAME.en.md
    for n in range(items - len(sources)):
        src = sources[n % len(sources)]
        text = src.read_text(encoding="utf-8").replace("order: ", f"order: {100 + n}", 1)
        (news / f"copy-{n:03d}-{src.name}").write_text(text, encoding="utf-8")
    return target / SAMPLE.name


def one_edition_issue(target: Path) -> Path:
    """A copy of the sample issue without ``editions:``, so that the configuration's
    ``languages`` decides its editions (none: the source language alone)."""
    shutil.copytree(ROOT / "issues", target)
    meta = target / SAMPLE.name / "issue.md"
    meta.write_text(re.sub(r"(?m)^editions:.*\n", "", meta.read_text(encoding="utf-8")),
                    encoding="utf-8")
    return target / SAMPLE.name


def editions_ratio(tmp: Path, exe: str, runs: int) -> tuple[float, float]:
    """Median cold ``infolettre build`` of the sample as one edition, then as five."""
    issue = one_edition_issue(tmp / "editions" / "issues")
    times = []
    for langs in ((), FIVE):
        cache = tmp / f"cache-{len(langs)}"
        conf = tmp / f"editions-{len(langs)}.toml"
        conf.write_text(f'cache_dir = "{cache}"\nlanguages = {json.dumps(list(langs))}\n',
                        encoding="utf-8")
        out = tmp / f"out-{len(langs)}"
        times.append(wall([exe, "--config", str(conf), "build", str(issue), "--out", str(out),
                           "--no-pdf"], runs, cache))
        if langs:
            assert all((out / lang / "email.html").is_file() for lang in langs), out
    return times[0], times[1]


def wall(cmd: list[str], runs: int, cache: Path | None = None) -> float:
    """Median wall time of ``cmd`` in a new process (``cache`` emptied before each run)."""
    times = []
    for _ in range(runs):
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("infolettre"))
    with tempfile.TemporaryDirectory() as tmp:
        big = synthetic_issue(Path(tmp) / "issues", 60)
        floor = wall([sys.executable, "-c", "pass"], args.runs)
        rows = []
        cache = Path(tmp) / "cache"
        conf = Path(tmp) / "infolettre.toml"
        conf.write_text(f'cache_dir = "{cache}"\n', encoding="utf-8")
        for label, issue in (("sample issue (9 items)", SAMPLE), ("synthetic (60 items)", big)):
            out = Path(tmp) / "out"
            cold = wall([exe, "--config", str(conf), "build", str(issue), "--out", str(out),
                         "--no-pdf"], args.runs, cache)
            phases = json.loads(subprocess.run(
                [sys.executable, "-c", PHASES, str(issue), str(out)], check=True,
                capture_output=True, text=True, cwd=ROOT).stdout)
            rows.append((label, cold, phases))
        one, five = editions_ratio(Path(tmp), exe, args.runs)
        pdf_lines = pdf_cost(Path(tmp), exe, args.runs)
    print(f"python -c pass (floor of any Python CLI): {floor * 1000:7.0f} ms")
    for label, cold, p in rows:
        verdict = "meets" if cold <= 1.0 else "MISSES"
        print(f"\n{label}: `infolettre build --no-pdf` cold, median of "
              f"{args.runs}: {cold * 1000:.0f} ms ({cold / floor:.1f}x the floor; "
              f"{verdict} the 1 s target)")
        print(f"  email.html {p['html_kb']:.1f} KB")
        for phase in ("imports", "load+check", "render", "premailer", "quality checks",
                      "write"):
            print(f"  {phase:<15}{p.get(phase, 0) * 1000:7.1f} ms "
                  f"({p.get(phase, 0) / p['total']:5.1%})")
        print(f"  premailer share of the build: {p['premailer'] / p['total']:.0%}")
    ratio = five / one
    verdict = "meets" if ratio <= EDITIONS_TARGET else "MISSES"
    print(f"\nsample issue, five editions ({', '.join(FIVE)}) against one: "
          f"`infolettre build` cold, median of {args.runs}: {five * 1000:.0f} ms against "
          f"{one * 1000:.0f} ms ({ratio:.2f}x; {verdict} the {EDITIONS_TARGET}x target)")
    print(f"\n{pdf_lines}")


if __name__ == "__main__":
    main()
