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


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """Start a fresh cluster, yield a SQLAlchemy URL to an empty database, then remove it all.

    initdb refuses to run as root, so as root the cluster belongs to the postgres user.
    """
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if not initdb or not pg_ctl:
        raise FileNotFoundError("initdb/pg_ctl not found")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    workdir = tempfile.mkdtemp(prefix="scheduler-pg-")
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
    data = os.path.join(workdir, "data")
    port = free_port()
    subprocess.run(
        [*prefix, initdb, "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    subprocess.run(
        [*prefix, pg_ctl, "-D", data, "-o", options, "-l", f"{workdir}/log", "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute("CREATE DATABASE scheduler_test")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/scheduler_test"
    finally:
        stop = [*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"]
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
