"""``tracker users``: create (a one-time link, never a password), list, disable, reset-link."""

from __future__ import annotations

from pathlib import Path

import httpx
from click.testing import CliRunner

from tracker.cli import main

from .test_serve import start_server, stop_server


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_users_create_list_disable_and_reset_link(tmp_path: Path) -> None:
    data = ("--data-dir", str(tmp_path))
    code, out, err = run(
        "users", "create", "Amelie@Acme.fr", "--role", "sales", "--base-url", "https://t.acme.fr", *data
    )
    assert code == 0, err
    assert out.strip().startswith("https://t.acme.fr/admin/setup?t=") and "amelie@acme.fr" in err
    code, out, _ = run("users", "list", *data)
    assert code == 0 and out.split("\t")[:3] == ["amelie@acme.fr", "sales", "invited"]
    code, _, err = run("users", "create", "amelie@acme.fr", "--role", "admin", *data)
    assert code == 1 and "is already a user" in err
    code, out, _ = run("users", "reset-link", "amelie@acme.fr", *data)
    assert code == 0 and "/admin/setup?t=" in out
    assert run("users", "disable", "amelie@acme.fr", *data)[0] == 0
    assert "\tdisabled\t" in run("users", "list", *data)[1]
    code, _, err = run("users", "reset-link", "amelie@acme.fr", *data)
    assert code == 1 and "disabled" in err
    code, _, err = run("users", "create", "x@acme.fr", "--role", "root", *data)
    assert code == 2


def test_users_role_and_enable_keep_the_last_admin(tmp_path: Path) -> None:
    data = ("--data-dir", str(tmp_path))
    assert run("users", "create", "boss@acme.fr", "--role", "admin", *data)[0] == 0
    code, _, err = run("users", "role", "boss@acme.fr", "--role", "sales", *data)
    assert code == 1 and "last active admin" in err
    code, _, err = run("users", "disable", "boss@acme.fr", *data)
    assert code == 1 and "last active admin" in err
    assert run("users", "create", "amelie@acme.fr", "--role", "marketing", *data)[0] == 0
    code, out, _ = run("users", "role", "amelie@acme.fr", "--role", "sales", "--owner", "amelie", *data)
    assert code == 0 and out.strip() == "amelie@acme.fr is sales, owner amelie"
    code, _, err = run("users", "role", "boss@acme.fr", "--role", "marketing", "--owner", "x", *data)
    assert code == 1 and "only a sales user is a routing owner" in err
    assert run("users", "disable", "amelie@acme.fr", *data)[0] == 0
    code, out, _ = run("users", "enable", "amelie@acme.fr", *data)
    assert code == 0 and "\tactive\t" not in out and "amelie@acme.fr enabled" in out
    assert run("users", "list", *data)[1].count("\tinvited\t") == 2  # neither has set a password yet


def test_serve_prints_the_console_and_a_first_admin_link_once(tmp_path: Path) -> None:
    process, base = start_server(tmp_path, "--demo")
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().decode() for _ in range(3)]
        assert lines[1].startswith(f"console at {base}/admin/ — sites: demo")
        link = lines[2].split(" at ", 1)[1].strip()
        assert link.startswith(f"{base}/admin/setup?t=")
        token = link.split("?t=", 1)[1]
        body = {"t": token, "email": "boss@acme.fr", "password": "a long enough password"}
        created = httpx.post(f"{base}/admin/setup", data={**body, "confirm": body["password"]})
        assert created.status_code == 303 and "tk_session" in created.cookies
        again = httpx.post(f"{base}/admin/setup", data={**body, "email": "x@acme.fr", "confirm": body["password"]})
        assert again.status_code == 400
    finally:
        stop_server(process)
    process, _ = start_server(tmp_path)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().decode() for _ in range(2)]
        assert "sites: demo" in lines[1]
    finally:
        stop_server(process)
    assert "setup?t=" not in process.communicate()[0].decode()
