"""`tracker serve --demo` as a real process on loopback, over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from tracker.cli import main

from .conftest import CHROME, TLS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    data_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    tracker: Sequence[str] = (sys.executable, "-m", "tracker"),
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `tracker serve` (the command ``tracker``) on a free loopback port; return the process and its base URL.

    A ``--demo`` server starts without its generated history unless ``--demo-history`` is among
    ``args``: these tests count what they send themselves.
    """
    port = free_port()
    history = [] if "--demo" not in args or "--demo-history" in args else ["--no-demo-history"]
    process = subprocess.Popen(
        [*tracker, "serve", "--port", str(port), "--data-dir", str(data_dir), *args, *history],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(base + "/healthz", verify=TLS).status_code == 200:  # a new client: no new CA bundle
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("server did not start: " + process.communicate()[0].decode())


def run_cli(*args: str) -> Result:
    """``tracker ARGS`` as an operator runs it, here in this process (a new Python process costs
    ~0.7 s of start-up and imports), on a thread of its own: the command runs its own event loop,
    and the caller may be inside one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(CliRunner().invoke, main, list(args)).result()


def cli_key(data_dir: Path, role: str, site: str = "demo", db: str | None = None) -> str:
    """An API key made the way an operator makes one: `tracker keys create`."""
    command = ["keys", "create", "--role", role, "--site", site, "--data-dir", str(data_dir)]
    if db is not None:
        command += ["--db", db]
    result = run_cli(*command)
    assert result.exit_code == 0, result.output
    return result.stdout.split()[-1]


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[str]:
    process, base = start_server(tmp_path, "--demo")
    try:
        yield base
    finally:
        stop_server(process)


def test_demo_server_scores_over_real_http(live: str) -> None:
    with httpx.Client(base_url=live, headers={"user-agent": CHROME}) as client:
        vid = None
        for path in ("/demo/files/livre-blanc-c.pdf",):
            response = client.post(
                "/collect", json={"site": "demo", "events": [{"type": "download", "url": live + path}]}
            )
            assert response.status_code == 200
            vid = response.json()["vid"]
        assert vid and client.cookies.get("tk_vid") == vid
        response = client.post("/collect", content=b"{", headers={"content-type": "text/plain"})
        assert response.status_code == 400 and response.json()["field"] == "body"


def test_two_workers_share_one_sqlite_database(tmp_path: Path) -> None:
    process, base = start_server(tmp_path, "--demo", "--workers", "2")
    try:
        with httpx.Client(base_url=base, headers={"user-agent": CHROME}) as client:
            statuses = [
                client.post(
                    "/collect",
                    json={"site": "demo", "events": [{"type": "page", "url": f"{base}/demo/blog/qualite/{n}"}]},
                    headers={"connection": "close"},  # new connections spread over both workers
                ).status_code
                for n in range(40)
            ]
    finally:
        stop_server(process)
    assert statuses == [200] * 40
    with sqlite3.connect(tmp_path / "tracker.db") as db:
        assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 40
