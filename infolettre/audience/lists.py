"""Subscriber list operations: CSV import and export, add, remove.

An import validates every row and names each rejected one as ``FILE:LINE:
reason``; the accepted rows are written in one transaction, read and written a
batch at a time so that a file of a million lines takes no more memory than one
of a thousand. Duplicates merge whatever their case. An address that
unsubscribed, bounced, complained or was erased is never made active again by an
import or an add: the import reports its line as "kept unsubscribed" with the
event that took it off the list.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..content.model import Centre
from ..errors import InfoLettreError, Problem
from ..fsutil import atomic_write
from ..store import Departure, NewSubscriber, Store, Subscriber, normalise_email
from ..words import closest, is_email
from .columns import (
    COLUMNS,
    Header,
    blank,
    centre_slug,
    delimiter,
    file_encoding,
    fold,
    read_header,
)

__all__ = ["EXPORT_COLUMNS", "ImportReport", "add", "export_csv", "import_csv", "remove",
           "unknown_centre"]

EXPORT_COLUMNS = ("email", "name", "lang", "centre", "country", "status", "consent_source",
                  "consent_date", "created")
_LANG_RE = re.compile(r"^[a-z]{2,3}\Z")
#: Where a spreadsheet may start a cell: the start of the value, or after any character
#: that one program or another splits on (Excel in French splits on ';'), or after a
#: quote its parser may drop; and what a formula starts with (OWASP's CSV injection
#: list), maybe after spaces. Before each, the export writes a "'" (shown as text).
_FORMULA = re.compile(r"""(?:^|(?<=[,;\t\r\n"]))(?= *[=+\-@\t\r])""")


#: Rows looked up and written together; within SQLite's limit of 999 parameters.
BATCH = 500
#: Rejected and kept rows a report lists one by one (the rest are counted).
LISTED = 1000


@dataclass
class ImportReport:
    """What an import did, and what it refused.

    ``rejected`` and ``kept`` list the first ``LISTED`` rows as ``FILE:LINE``
    problems; ``rejected_total`` and ``kept_total`` count them all.
    """

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    kept: list[Problem] = field(default_factory=list)
    kept_total: int = 0
    rejected: list[Problem] = field(default_factory=list)
    rejected_total: int = 0
    encoding: str = "UTF-8"
    warnings: list[Problem] = field(default_factory=list)

    def reject(self, problem: Problem) -> None:
        """Count a refused row (listed while fewer than ``LISTED`` are)."""
        self.rejected_total += 1
        if len(self.rejected) < LISTED:
            self.rejected.append(problem)

    def keep(self, problem: Problem) -> None:
        """Count a row of an address kept off the list."""
        self.kept_total += 1
        if len(self.kept) < LISTED:
            self.kept.append(problem)


@contextmanager
def _csv_rows(path: Path) -> Iterator[tuple[Header, str, Iterator[tuple[int, dict[str, str]]]]]:
    """The header, the encoding and a stream of (line, row) of a CSV file, read row by row.

    Blank and separator-only lines are skipped, before the header too; the
    delimiter is the header line's.
    """
    encoding = file_encoding(path)
    try:
        text = path.open(encoding=encoding, newline="")
    except OSError as exc:
        raise InfoLettreError(f"{path}: cannot read: {exc.strerror}") from None
    with text:
        lines = iter(text)
        skipped = 0  # blank lines before the header, for the line numbers
        first = None
        for line in lines:
            if line.strip(" \t,;\r\n"):  # not blank, nor separators only
                first = line
                break
            skipped += 1
        if first is None:
            raise InfoLettreError(f"{path}:1: the file is empty: the first line names the "
                                  "columns, e.g. email,name,lang")
        reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter(first))
        try:
            cells = next(reader)
        except csv.Error as exc:
            raise InfoLettreError(f"{path}:{skipped + reader.line_num}: {exc}") from None
        if blank(cells):
            raise InfoLettreError(f"{path}:{skipped + 1}: the first line names the columns, e.g. "
                                  "email,name,lang")
        header = read_header(cells)

        def rows() -> Iterator[tuple[int, dict[str, str]]]:
            try:
                for values in reader:
                    if not blank(values):
                        yield skipped + reader.line_num, header.row(values)
            except csv.Error as exc:
                raise InfoLettreError(f"{path}:{skipped + reader.line_num}: {exc}") from None

        yield header, encoding, rows()


#: How the report names an encoding.
ENCODINGS = {"utf-8-sig": "UTF-8", "cp1252": "cp1252 (Windows)", "latin-1": "Latin-1"}


def import_csv(store: Store, path: Path, *, source: str | None = None,
               centres: dict[str, Centre] | None = None) -> ImportReport:
    """Import subscribers from a CSV file with at least an ``email`` column.

    The file is read row by row and written in batches, all in one transaction,
    so memory does not grow with the file: only the count of what was done and
    the first rejected or kept rows are held. Columns it does not know are
    ignored, and named once in ``report.warnings``. With ``centres`` (the
    directory of centres), a centre is stored as its slug, found by slug, name or
    city; a row naming no centre of it is rejected with the closest slugs.
    """
    with _csv_rows(path) as (header, encoding, rows):
        if "email" not in header.names:
            raise InfoLettreError(f"{path}:1: no 'email' column (columns: "
                                  f"{', '.join(header.cells)}); name it email, e-mail, "
                                  "courriel or correo")
        importer = _Importer(store, path, source or f"import:{path.name}", centres)
        importer.report.encoding = ENCODINGS[encoding]
        if header.ignored:
            near = {h: closest(h.lower(), set(COLUMNS), 1) for h in header.ignored}
            hints = ", ".join(f"'{h}'" + (f" (did you mean '{n[0]}'?)" if n else "")
                              for h, n in near.items())
            importer.report.warnings.append(Problem(
                path, 1, f"ignored column{'s' * (len(near) > 1)} {hints}; known columns: "
                + ", ".join(sorted(COLUMNS))))
        with store.transaction(), store.import_seen():
            batch: dict[str, tuple[int, dict[str, str]]] = {}
            for line, row in rows:
                email = normalise_email(row.get("email", ""))
                if email in batch or len(batch) >= BATCH:
                    importer.write(list(batch.values()))  # in-batch duplicates in order
                    batch = {}
                batch[email or f"\0{line}"] = (line, row)
            importer.write(list(batch.values()))
    return importer.report


class _Importer:
    """One import's writes, a batch of rows at a time, and its report."""

    def __init__(self, store: Store, path: Path, source: str,
                 centres: dict[str, Centre] | None) -> None:
        self.store, self.path, self.source, self.centres = store, path, source, centres
        self.report = ImportReport()

    def write(self, batch: list[tuple[int, dict[str, str]]]) -> None:
        """Check and write a batch of rows (at most one row per address)."""
        valid = []
        for line, row in batch:
            email = normalise_email(row.get("email", ""))
            reason = _invalid(row, email)
            if reason is None and row.get("centre") and self.centres is not None:
                slug = centre_slug(row["centre"], self.centres)
                if slug is None:
                    reason = unknown_centre(row["centre"], self.centres)
                else:
                    row["centre"] = slug
            if reason:
                self.report.reject(Problem(self.path, line, reason))
            else:
                valid.append((line, email, row))
        emails = [email for _, email, _ in valid]
        suppressed = self.store.suppressed_among(emails)
        existing = self.store.get_many(emails)
        seen = self.store.seen_in_import(emails)
        new = []
        for line, email, row in valid:
            if email in suppressed:
                self.report.reject(Problem(self.path, line, "this address was erased at its "
                                           "owner's request; not imported"))
                continue
            if email in seen:
                self.report.duplicates += 1  # merged into the earlier row: later values win
            found = existing.get(email)
            if found is None:
                new.append(self._new(email, row))
            else:
                self._merge(found, line, row)
        self.store.insert_many(new)
        self.report.added += len(new)
        self.store.add_seen_in_import([e for e in emails if e not in suppressed])

    def _new(self, email: str, row: dict[str, str]) -> NewSubscriber:
        values = _values(row)
        return NewSubscriber(email, status="active",
                             consent_source=row.get("consent_source") or self.source,
                             consent_at=row.get("consent_date", ""), **values)

    def _merge(self, existing: Subscriber, line: int, row: dict[str, str]) -> None:
        store, report, source = self.store, self.report, self.source
        left = store.departure(existing.id) if existing.status != "active" else None
        if left is not None:  # kept as it is, data included
            report.keep(Problem(self.path, line, _kept(existing.email, left)))
            return
        changed = {k: v for k, v in _values(row).items() if getattr(existing, k) != v}
        if changed:
            store.update(existing.id, **changed)
            store.event(existing.id, "updated", f"{source}: {', '.join(changed)}")
        if existing.status == "pending":
            store.set_status(existing.id, "active", f"consent: {source}")
            report.updated += 1
            return
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1


def _values(row: dict[str, str]) -> dict[str, str]:
    """The fields of a row that set a subscriber's data (language in lower case)."""
    values = {k: row[k] for k in ("name", "lang", "centre", "country") if row.get(k)}
    if "lang" in values:
        values["lang"] = values["lang"].lower()
    return values


def unknown_centre(value: str, centres: dict[str, Centre]) -> str:
    """Why a centre is refused, with the slugs that look most like it."""
    slugs = {fold(slug): slug for slug in centres}
    near = [slugs[f] for f in closest(fold(value), set(slugs))]
    hint = ("did you mean " + " or ".join(f"'{s}'" for s in near) + "?") if near else \
        "write the slug, name or city of a centre of cdms.yaml"
    return f"unknown centre '{value}': {hint}"


def _kept(email: str, left: Departure) -> str:
    """Why an import or an add leaves an address off the list, and what would bring it back."""
    way_back = ("a complaint is final" if left.kind == "complained" else
                "only the person can subscribe again, by the subscription form and the "
                "link it mails to them")
    return f"{email} kept unsubscribed: {left}; {way_back}"


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


def add(store: Store, email: str, *, name: str = "", lang: str = "fr", centre: str = "",
        country: str = "", source: str = "cli",
        centres: dict[str, Centre] | None = None) -> Subscriber:
    """Add one subscriber (active), refusing an erased or inactive address.

    With ``centres``, ``centre`` is stored as its slug, or refused as an import
    refuses it.
    """
    email = normalise_email(email)
    if not is_email(email):
        raise InfoLettreError(f"'{email}' is not a valid email address")
    if centre and centres is not None:
        slug = centre_slug(centre, centres)
        if slug is None:
            raise InfoLettreError(unknown_centre(centre, centres))
        centre = slug
    with store.transaction():
        if store.is_suppressed(email):
            raise InfoLettreError(f"{email} was erased at its owner's request: not added")
        existing = store.get(email)
        if existing is not None:
            left = store.departure(existing.id)
            if left is not None:
                raise InfoLettreError(_kept(email, left))
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
    """Neutralise a value a spreadsheet would run as a formula (CSV injection).

    Not only at its start: ``Jean;=1+1`` is two cells for a program that splits
    on ';', so every place a cell may start is neutralised (``Jean;'=1+1``).
    """
    return _FORMULA.sub("'", value)


def export_csv(subscribers: Iterable[Subscriber], path: Path) -> int:
    """Write subscribers to ``path`` (atomically); returns how many.

    Every cell is quoted and neutralised (``_cell``), whatever the delimiter the
    spreadsheet that opens it splits on.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for s in subscribers:
        writer.writerow([_cell(v) for v in (s.email, s.name, s.lang, s.centre, s.country,
                                            s.status, s.consent_source, s.consent_at,
                                            s.created_at)])
        count += 1
    atomic_write(path, out.getvalue(), mode=0o600)
    return count
