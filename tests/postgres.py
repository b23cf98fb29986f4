"""A throwaway PostgreSQL server from Debian's ``postgresql`` package, for tests and
benchmarks: ``initdb`` and ``pg_ctl`` in a temporary folder, listening on a Unix
socket there and nowhere else, stopped (and the folder removed) at the end.

As root (CI), the server runs as Debian's ``postgres`` user, since PostgreSQL
refuses to run as root. Durability is turned off (``fsync``, synchronous commit):
a test kills clients, never the server, and each database lives for one test.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from infolettre.config import PostgresURL

__all__ = ["PostgresServer", "binaries", "unavailable"]


def binaries() -> Path | None:
    """The folder of Debian's PostgreSQL programs (the newest installed), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                     key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return Path(folders[-1]).parent if folders else None


def unavailable() -> str | None:
    """Why no server can be started here (None when one can)."""
    if binaries() is None:
        return "PostgreSQL is not installed (Debian package postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'infolettre[postgresql]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root with no 'postgres' user to run the server as"
    return None


class PostgresServer:
    """One server, started by ``start`` and stopped by ``stop``; ``database`` makes a
    new empty database and gives its address."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="infolettre-pg-"))
        self.data = self.folder / "data"
        self.socket = self.folder  # the socket's folder: its path must stay short
        self.user = "infolettre"
        self.count = 0
        self._template = ""
        self._as: dict = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            self._as = {"user": entry.pw_uid, "group": entry.pw_gid}
        self.folder.chmod(0o755)

    def _run(self, *args: str) -> None:
        bindir = binaries()
        assert bindir is not None
        done = subprocess.run([str(bindir / args[0]), *args[1:]], capture_output=True,
                              text=True, timeout=120, **self._as)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}")

    def start(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        options = (f"-c listen_addresses='' -k {self.socket} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200 -c shared_buffers=128MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"),
                  "-o", options, "-w", "-t", "60", "start")
        return self

    def url(self, name: str = "postgres") -> str:
        """The address of database ``name`` on this server (over its Unix socket)."""
        return f"postgresql://{self.user}@/{name}?host={self.socket}"

    def database(self, template: str = "template0") -> str:
        """A new database, empty or a copy of ``template``; its address."""
        import psycopg

        self.count += 1
        name = f"t{os.getpid()}_{self.count}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def migrated(self) -> PostgresURL:
        """A new database with InfoLettre's tables (and a secret of its own); its address.

        ``infolettre db migrate`` runs once, on a template; each database is a copy.
        """
        from infolettre.store import migrate_database

        if not self._template:
            url = self.database()
            migrate_database(PostgresURL(url))
            self._template = f"t{os.getpid()}_{self.count}"
        url = PostgresURL(self.database(self._template))
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:  # not the template's secret
            conn.execute("UPDATE meta SET value = %s WHERE key = 'secret'",
                         (secrets.token_urlsafe(32),))
        return url

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
