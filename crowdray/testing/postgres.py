"""A throwaway PostgreSQL server in a temporary directory.

Started from the Debian server binaries (initdb, pg_ctl). initdb refuses to run
as root, so as root the server runs as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from crowdray.process import free_port


class PostgresUnavailableError(RuntimeError):
    pass


def find_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for bindir in reversed(candidates):
        if (Path(bindir) / "initdb").exists():
            return Path(bindir)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresUnavailableError(
        "no PostgreSQL server binaries (initdb) found; install postgresql"
    )


class ThrowawayPostgres:
    """`with ThrowawayPostgres() as pg: pg.url` — a fresh server, removed on exit."""

    def __init__(self, *, durable: bool = False, dbname: str = "crowdray") -> None:
        self.bindir = find_bindir()
        self.durable = durable
        self.dbname = dbname
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="crowdray-pg-"))
        self.user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.dbname}"

    def _run(self, *argv: str) -> None:
        result = subprocess.run(
            [str(self.bindir / argv[0]), *argv[1:]],
            user=self.user,
            capture_output=True,
            check=False,
            text=True,
            cwd=self.root,
        )
        if result.returncode != 0:
            raise PostgresUnavailableError(f"{argv[0]} failed: {result.stderr.strip()[-2000:]}")

    def start(self) -> ThrowawayPostgres:
        if self.user:
            shutil.chown(self.root, self.user)
        data = str(self.root / "data")
        self._run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        if not self.durable:
            # Test data is disposable: skip the disk flushes.
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self.options = options
        self._run("pg_ctl", "-D", data, "-l", self.log, "-o", options, "-w", "-t", "60", "start")
        self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.dbname
        )
        return self

    @property
    def log(self) -> str:
        return str(self.root / "server.log")

    def crash(self) -> None:
        """Stop the server as a crash would (immediate mode), keeping its data."""
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        """Start the server again on its data (after crash()); it recovers from its log."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.root / "data"),
            "-l",
            self.log,
            "-o",
            self.options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:  # noqa: PYI034 - final class
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
