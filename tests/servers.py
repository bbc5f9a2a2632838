"""Servers the tests start on 127.0.0.1 (gunicorn with the app, Redis), and how a test rushes
them and checks the places afterwards."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from scheduler import PROJECT_ROOT
from scheduler.extensions import db
from scheduler.models import Registration, RegistrationStatus
from scheduler.services import places
from tests.fixtures.databases import base_config, component_missing
from tests.postgres_server import free_port


class Gunicorn:
    """gunicorn with several worker processes and threads on 127.0.0.1."""

    def __init__(self, database_url: str, workers: int = 4, threads: int = 8,
                 **config) -> None:
        self.port = free_port()
        env = dict(os.environ,
                   SCHEDULER_TEST_CONFIG=json.dumps(base_config(database_url, **config)))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads",
             str(threads), "--bind", f"127.0.0.1:{self.port}", "--no-control-socket",
             "--log-level", "warning", "tests.wsgi_app:app"],
            cwd=PROJECT_ROOT, env=env, start_new_session=True,
        )

    def __enter__(self) -> "Gunicorn":
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                connection.request("GET", "/privacy")
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    return self
            except OSError:
                time.sleep(0.2)
            finally:
                connection.close()
        self.__exit__()
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc_info) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=20)

    def crash(self) -> None:
        """Kill the master and every worker at once, mid-request, as a power cut of the app."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def get(self, path: str) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def post(self, path: str, data: dict) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        body = urllib.parse.urlencode(data)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"}
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


class Redis:
    """A Redis of the test's own, in memory only, for counters shared by several servers."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            component_missing("Redis", "redis-server not found (Debian: redis-server)")
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix="scheduler-redis-")
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self.folder],
            stdout=subprocess.DEVNULL, start_new_session=True)
        self.url = f"redis://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def fire_at_once(calls) -> list[int]:
    """Run every call in its own thread, all released by one barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def invariants(event, capacity: int) -> dict:
    db.session.rollback()
    rows = db.session.scalars(
        select(Registration).where(Registration.event_id == event.id).order_by(Registration.id)
    ).all()
    confirmed = [r for r in rows if r.status is RegistrationStatus.confirmed]
    waiting = [r for r in rows if r.status is RegistrationStatus.waiting]
    positions = [places.waiting_position(r) for r in waiting]
    emails = [r.email_normalised for r in rows if r.is_active]
    assert len(confirmed) == capacity
    assert positions == list(range(1, len(waiting) + 1))
    assert len(emails) == len(set(emails))
    return {"confirmed": len(confirmed), "waiting": len(waiting)}
