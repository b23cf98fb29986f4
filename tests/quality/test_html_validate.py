"""html-validate, an offline HTML5 validator, on the web edition and the service's
pages: 0 errors under its ``recommended`` rules (``htmlvalidate.json``).

The configuration has no exceptions: none were needed. Should one become needed, it
goes in ``htmlvalidate.json``'s ``rules`` and its reason in this docstring. The email
is not validated here: its table attributes (width, cellpadding, bgcolor) are what
clients without CSS lay it out by, and caniemail's data judges it instead.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import HERE, service_pages

CONFIG = HERE / "htmlvalidate.json"
#: A page with an error the recommended rules must report, so that a validator that
#: checks nothing (a wrong configuration, a changed output format) cannot pass.
CANARY = ('<!DOCTYPE html><html lang="fr"><head><title>t</title></head><body>'
          '<table><tr><td width="150">x</td></tr></table></body></html>')


def validate(node: str, cli: Path, files: list[Path]) -> dict[str, list[str]]:
    """html-validate's errors (run by ``node`` from ``cli``) for each file, one a line."""
    done = subprocess.run([node, str(cli), "--config", str(CONFIG), "--formatter", "json",
                           *map(str, files)], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr  # 1: errors found; else it failed
    errors: dict[str, list[str]] = {str(f): [] for f in files}
    for result in json.loads(done.stdout or "[]"):
        errors[result["filePath"]] = [
            f"{m['line']}:{m['column']} {m['ruleId']}: {m['message']}"
            for m in result["messages"] if m["severity"] == 2]
    return errors


def test_the_web_edition_and_the_service_pages_are_valid_html(node: str, html_validate: Path,
                                                              built: Path, service,
                                                              tmp_path: Path) -> None:
    files = [built / lang / "index.html" for lang in ("fr", "en", "es")]
    for name, (_, html) in service_pages(service).items():
        files.append(tmp_path / f"{name}.html")
        files[-1].write_text(html, encoding="utf-8")
    canary = tmp_path / "canary.html"
    canary.write_text(CANARY, encoding="utf-8")
    errors = validate(node, html_validate, [*files, canary])
    assert any("no-deprecated-attr" in e for e in errors.pop(str(canary)))
    assert errors == {str(f): [] for f in files}
