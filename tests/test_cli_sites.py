"""``tracker sites`` and ``tracker keys`` (tracker/cli_sites.py): list sites and keys, revoke a key,
bad settings named, and every change audited as the command line's."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tracker.store import open_store

from .test_cli import run


def audit_of(data: Path) -> list[tuple[Any, str, str]]:
    async def read() -> list[tuple[Any, str, str]]:
        store = open_store(str(data / "tracker.db"))
        await store.open()
        try:
            rows = await store.read(
                lambda q: q.conn.fetchall("SELECT site_id, actor, action FROM audit_log ORDER BY id")
            )
            return [(row["site_id"], row["actor"], row["action"]) for row in rows]
        finally:
            await store.close()

    return asyncio.run(read())


def test_sites_list_shows_every_setting(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert run("sites", "list", *data)[1].strip() == "no site yet: tracker sites add KEY"
    assert (
        run(
            "sites", "add", "acme", "--name", "Acme", "--origin", "https://www.acme.fr", "--consent", "required", *data
        )[0]
        == 0
    )
    assert run("sites", "internal", "acme", "10.0.0.0/8", *data)[0] == 0
    code, out, _ = run("sites", "list", *data)
    assert code == 0
    assert "acme\tAcme\torigins https://www.acme.fr" in out
    assert "consent=required" in out and "retention_identified_days=1095" in out and "internal=10.0.0.0/8" in out
    assert audit_of(tmp_path) == [(1, "cli", "site_create"), (1, "cli", "site_update")]


def test_bad_site_settings_are_named_and_change_nothing(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    code, _, err = run("sites", "add", "acme", "--origin", "ftp://acme.fr", *data)
    assert code == 1 and "origins: 'ftp://acme.fr' is no origin" in err
    code, _, err = run("sites", "add", "bad key", *data)
    assert code == 1 and "key: a key is 1 to 64 letters" in err
    assert run("sites", "list", *data)[1].strip() == "no site yet: tracker sites add KEY"


def test_keys_list_and_revoke(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert run("sites", "add", "acme", *data)[0] == 0
    assert run("keys", "list", *data)[1].strip() == "no API key yet: tracker keys create --role ROLE --site KEY"
    code, out, _ = run("keys", "create", "--role", "admin", "--site", "acme", "--name", "CRM", *data)
    key = out.strip().splitlines()[-1]
    code, out, _ = run("keys", "list", "--site", "acme", *data)
    assert code == 0 and key not in out
    fields = out.strip().split("\t")
    assert fields[:4] == ["1", "acme", "admin", "CRM"] and fields[-1] == "never used"
    assert run("keys", "list", "--site", "nope", *data)[0] == 1
    code, out, _ = run("keys", "revoke", "1", *data)
    assert code == 0 and out.strip() == "admin key 1 (CRM) revoked"
    code, _, err = run("keys", "revoke", "1", *data)
    assert code == 1 and "no API key 1" in err
    assert audit_of(tmp_path)[-2:] == [(1, "cli", "key_create"), (1, "cli", "key_revoke")]


def test_tracker_audit_filters_install_wide_and_by_action(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert run("sites", "add", "acme", *data)[0] == 0
    assert run("users", "create", "boss@acme.fr", "--role", "admin", *data)[0] == 0
    assert run("keys", "create", "--role", "sales", "--site", "acme", *data)[0] == 0
    code, out, _ = run("audit", "--install", *data)
    assert code == 0 and [line.split()[1:3] for line in out.splitlines()] == [["cli", "user_create"]]
    assert '"user": "boss@acme.fr"' in out
    code, out, _ = run("audit", "--site", "acme", "--action", "key_create", *data)
    assert code == 0 and len(out.splitlines()) == 1 and " cli key_create " in out
    assert len(run("audit", *data)[1].splitlines()) == 3  # everything
    assert run("audit", "--site", "nope", *data)[0] == 1
