"""Subscriber list operations: CSV import and export, add, remove.

An import validates every row and names each rejected one as ``FILE:LINE:
reason``; the accepted rows are written in one transaction. Duplicates merge
whatever their case, and an address that unsubscribed, bounced, complained or
was erased is never made active again by an import.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InfoLettreError, Problem
from .fsutil import atomic_write
from .store import FINAL, Store, Subscriber, normalise_email
from .words import closest, is_email

__all__ = ["EXPORT_COLUMNS", "ImportReport", "add", "export_csv", "import_csv", "remove"]

IMPORT_COLUMNS = {"email", "name", "lang", "centre", "country", "consent_source",
                  "consent_date"}
ALIASES = {"language": "lang", "cdm": "centre", "center": "centre", "e-mail": "email",
           "mail": "email", "nom": "name", "langue": "lang", "pays": "country"}
EXPORT_COLUMNS = ("email", "name", "lang", "centre", "country", "status", "consent_source",
                  "consent_date", "created")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass
class ImportReport:
    """What an import did, and what it refused."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    kept_inactive: list[str] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InfoLettreError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InfoLettreError(f"{path}:{line}: not valid UTF-8: export the file as "
                              "'CSV UTF-8'") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in next(reader)]
    except StopIteration:
        raise InfoLettreError(f"{path}:1: the file is empty: the first line names the "
                              "columns, e.g. email,name,lang") from None
    rows = []
    try:
        for values in reader:
            if any(v.strip() for v in values):
                rows.append((reader.line_num, dict(zip(header, (v.strip() for v in values),
                                                       strict=False))))
    except csv.Error as exc:
        raise InfoLettreError(f"{path}:{reader.line_num}: {exc}") from None
    return header, rows


def import_csv(store: Store, path: Path, *, source: str | None = None) -> ImportReport:
    """Import subscribers from a CSV file with at least an ``email`` column."""
    header, rows = _read_rows(path)
    if "email" not in header:
        raise InfoLettreError(f"{path}:1: no 'email' column (columns: {', '.join(header)})")
    unknown = [h for h in header if h and h not in IMPORT_COLUMNS]
    if unknown:
        near = {h: closest(h, IMPORT_COLUMNS, 1) for h in unknown}
        hints = ", ".join(f"'{h}'" + (f" (did you mean '{n[0]}'?)" if n else "")
                          for h, n in near.items())
        raise InfoLettreError(f"{path}:1: unknown column {hints}; known columns: "
                              + ", ".join(sorted(IMPORT_COLUMNS)))
    report = ImportReport()
    seen: dict[str, int] = {}
    source = source or f"import:{path.name}"
    with store.transaction():
        for line, row in rows:
            email = normalise_email(row.get("email", ""))
            reason = _invalid(row, email)
            if reason is None and store.is_suppressed(email):
                reason = "this address was erased at its owner's request; not imported"
            if reason:
                report.rejected.append(Problem(path, line, reason))
                continue
            if email in seen:
                report.duplicates += 1  # merged into the earlier row: later values win
            seen[email] = line
            _merge(store, email, row, source, report)
    return report


def _invalid(row: dict[str, str], email: str) -> str | None:
    if not email:
        return "no email address"
    if not is_email(email):
        return f"'{row.get('email')}' is not a valid email address"
    lang = row.get("lang", "").lower()
    if lang and not _LANG_RE.match(lang):
        return f"'{row.get('lang')}' is not a language code (e.g. fr, en)"
    date = row.get("consent_date", "")
    if date:
        try:
            dt.date.fromisoformat(date[:10])
        except ValueError:
            return f"'{date}' in consent_date is not a date (YYYY-MM-DD)"
    return None


def _merge(store: Store, email: str, row: dict[str, str], source: str,
           report: ImportReport) -> None:
    values = {k: row[k] for k in ("name", "lang", "centre", "country") if row.get(k)}
    if "lang" in values:
        values["lang"] = values["lang"].lower()
    existing = store.get(email)
    if existing is None:
        store.insert(email, status="active", consent_source=row.get("consent_source") or source,
                     consent_at=row.get("consent_date", ""), **values)
        report.added += 1
        return
    changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
    if changed:
        store.update(existing.id, **changed)
        store.event(existing.id, "updated", f"{source}: {', '.join(changed)}")
    if existing.status in FINAL:
        report.kept_inactive.append(f"{email} ({existing.status})")
    elif existing.status == "pending":
        store.set_status(existing.id, "active", f"consent: {source}")
        report.updated += 1
        return
    if changed:
        report.updated += 1
    else:
        report.unchanged += 1


def add(store: Store, email: str, *, name: str = "", lang: str = "fr", centre: str = "",
        country: str = "", source: str = "cli") -> Subscriber:
    """Add one subscriber (active), refusing an erased or inactive address."""
    email = normalise_email(email)
    if not is_email(email):
        raise InfoLettreError(f"'{email}' is not a valid email address")
    with store.transaction():
        if store.is_suppressed(email):
            raise InfoLettreError(f"{email} was erased at its owner's request: not added")
        existing = store.get(email)
        if existing is not None:
            raise InfoLettreError(f"{email} is already on the list ({existing.status})")
        store.insert(email, name=name, lang=lang, centre=centre, country=country,
                     status="active", consent_source=source)
    subscriber = store.get(email)
    assert subscriber is not None
    return subscriber


def remove(store: Store, email: str, reason: str = "removed by the editorial team") -> None:
    """Unsubscribe an address (kept, so that no import brings it back)."""
    with store.transaction():
        existing = store.get(email)
        if existing is None:
            raise InfoLettreError(f"{normalise_email(email)} is not on the list")
        if existing.status != "unsubscribed":
            store.set_status(existing.id, "unsubscribed", reason)


def _cell(value: str) -> str:
    """Neutralise a value a spreadsheet would run as a formula (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def export_csv(subscribers: Iterable[Subscriber], path: Path) -> int:
    """Write subscribers to ``path`` (atomically); returns how many."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for s in subscribers:
        writer.writerow([_cell(v) for v in (s.email, s.name, s.lang, s.centre, s.country,
                                            s.status, s.consent_source, s.consent_at,
                                            s.created_at)])
        count += 1
    atomic_write(path, out.getvalue(), mode=0o600)
    return count
