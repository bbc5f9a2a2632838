"""A throw-away PostgreSQL server on 127.0.0.1 for the test run."""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator


def find_binary(name: str) -> str | None:
    """A PostgreSQL server binary from PATH or Debian's versioned folder."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """A cluster of our own, on its own port, which a test may stop and start again."""

    def __init__(self) -> None:
        initdb, self.pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        if not initdb or not self.pg_ctl:
            raise FileNotFoundError("initdb/pg_ctl not found")
        # initdb refuses to run as root: as root the cluster belongs to the postgres user.
        as_root = os.geteuid() == 0
        self.prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
        self.workdir = tempfile.mkdtemp(prefix="scheduler-pg-")
        if as_root:
            shutil.chown(self.workdir, "postgres", "postgres")
        self.data = os.path.join(self.workdir, "data")
        self.port = free_port()
        try:
            subprocess.run(
                [*self.prefix, initdb, "-D", self.data, "-U", "postgres", "-A", "trust",
                 "--no-sync", "-E", "UTF8"],
                check=True,
                capture_output=True,
            )
        except subprocess.CalledProcessError:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/scheduler_test"

    def _pg_ctl(self, *arguments: str) -> None:
        options = (f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=200")
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", self.data, "-o", options,
             "-l", f"{self.workdir}/log", *arguments],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self._pg_ctl("-w", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "restart")

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute("CREATE DATABASE scheduler_test")

    def remove(self) -> None:
        stop = [*self.prefix, self.pg_ctl, "-D", self.data, "-m", "immediate", "stop"]
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a fresh cluster with an empty database ``scheduler_test``, then remove it all."""
    server = PostgresServer()
    try:
        server.start()
        server.create_database()
        yield server
    finally:
        server.remove()
