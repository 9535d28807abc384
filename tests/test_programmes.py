"""Programme versions (services/programmes.py): publish, stale refusal naming who, races, rollback,
clone, drafts; the diff summary and the tomlkit edits (domain/programme/diff.py, edit.py)."""

from __future__ import annotations

import asyncio

import pytest

from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.diff import line_diff, summary
from tracker.domain.programme.edit import error_line, put_rule, set_tokens
from tracker.domain.programme.load import load_programme
from tracker.services import programmes
from tracker.services.programmes import StalePublish, ThresholdsNeedAgreement

from .conftest import SEED_GRID, Server


def with_token(source: str, value: float) -> str:
    return set_tokens(source, {"wp_vision": value})


async def publish(server: Server, source: str, base: int, author: str = "marie@example.com") -> int:
    done = await programmes.publish(
        server.runtime.store, "demo", source, base_version=base, author=author, comment="test", now=server.clock()
    )
    return done.version


async def test_the_demo_programme_is_version_1_and_a_publish_makes_version_2(server: Server) -> None:
    history = await programmes.history(server.runtime.store, "demo")
    assert history.current == 1 and history.versions[0].author == "cli"
    site_version = history.site.version
    assert await publish(server, with_token(SEED_GRID, 15), base=1) == 2
    after = await programmes.history(server.runtime.store, "demo")
    assert [(v.number, v.author, v.comment) for v in after.versions] == [
        (2, "marie@example.com", "test"),
        (1, "cli", ""),
    ]
    # Running servers reload: the site's own version moved too.
    assert after.site.version == site_version + 1 and "wp_vision = 15" in after.site.programme
    audit = await server.runtime.store.read(lambda q: q.audit_entries(after.site.id, 5))
    detail = audit[0]["detail"]
    assert (audit[0]["action"], detail["before"], detail["after"]) == ("programme_publish", 1, 2)
    assert detail["changes"] == ["token wp_vision 12 → 15", "rule wp-c: points 12 → 15"]


async def test_a_stale_publish_names_who_published_since_and_changes_nothing(server: Server) -> None:
    await publish(server, with_token(SEED_GRID, 15), base=1, author="anne@example.com")
    with pytest.raises(StalePublish) as caught:
        await publish(server, with_token(SEED_GRID, 20), base=1, author="bob@example.com")
    assert "version 2 was published by anne@example.com" in caught.value.message
    assert caught.value.extra["published"][0]["author"] == "anne@example.com"
    assert (await programmes.history(server.runtime.store, "demo")).current == 2


async def test_two_publishes_racing_from_the_same_base_end_as_if_sequential(server: Server) -> None:
    results = await asyncio.gather(
        publish(server, with_token(SEED_GRID, 15), base=1, author="anne@example.com"),
        publish(server, with_token(SEED_GRID, 20), base=1, author="bob@example.com"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["StalePublish", "int"]
    history = await programmes.history(server.runtime.store, "demo")
    assert history.current == 2
    winner = next(r for r in results if isinstance(r, int))
    assert winner == 2


async def test_a_threshold_change_needs_agreement_and_a_broken_programme_is_refused(server: Server) -> None:
    with pytest.raises(ThresholdsNeedAgreement) as caught:
        await publish(server, SEED_GRID.replace("sql = 12 ", "sql = 14 "), base=1)
    assert caught.value.extra["changes"] == ["engagement: sql 12 → 14"]
    with pytest.raises(ProgrammeError):
        await publish(server, SEED_GRID.replace('points = "wp_vision"', 'points = "nope"'), base=1)
    assert (await programmes.history(server.runtime.store, "demo")).current == 1


async def test_rollback_publishes_the_old_text_as_a_new_version(server: Server) -> None:
    await publish(server, with_token(SEED_GRID, 15), base=1)
    done = await programmes.rollback(
        server.runtime.store, "demo", 1, base_version=2, author="anne@example.com", comment="undo", now=server.clock()
    )
    assert done.version == 3
    version, source = await programmes.version_source(server.runtime.store, "demo", 3)
    assert source == SEED_GRID and (version.origin, version.comment) == ("rollback", "undo")


async def test_clone_publishes_a_version_on_another_site(server: Server) -> None:
    await server.load_programme("", site="acme")
    done = await programmes.clone(
        server.runtime.store, "demo", 1, "acme", author="anne@example.com", comment="same grid", now=server.clock()
    )
    assert done.version == 1
    assert (await programmes.history(server.runtime.store, "acme")).site.programme == SEED_GRID


async def test_a_draft_is_kept_per_user_and_must_compile(server: Server) -> None:
    site = (await programmes.history(server.runtime.store, "demo")).site
    store = server.runtime.store
    await programmes.save_draft(store, 7, site.id, with_token(SEED_GRID, 15), 1, server.clock())
    with pytest.raises(ProgrammeError):
        await programmes.save_draft(store, 7, site.id, "[tokens]\nx = 'a'\n", 1, server.clock())
    kept = await programmes.draft(store, 7, site.id)
    assert kept is not None and "wp_vision = 15" in kept.source and kept.base_version == 1
    assert await programmes.draft(store, 8, site.id) is None
    await programmes.discard_draft(store, 7, site.id)
    assert await programmes.draft(store, 7, site.id) is None


def test_the_summary_names_tokens_rules_scores_and_campaigns() -> None:
    old = load_programme(SEED_GRID)
    source = put_rule(with_token(SEED_GRID, 15), {"id": "new", "score": "fit", "when": {"form": "x"}, "points": 1})
    source = source.replace('id = "sales-popup"', 'id = "call-back"').replace("percent = 50", "percent = 40")
    lines = summary(old, load_programme(source))
    assert "token wp_vision 12 → 15" in lines
    assert "rule wp-c: points 12 → 15" in lines
    assert "rule new added" in lines
    assert "score engagement: decay 50 % after 30d → 40 % after 30d" in lines
    assert "campaign call-back added" in lines and "campaign sales-popup removed" in lines
    limits = SEED_GRID.replace("mql = 8\n", 'mql = 8\nmax = 50\non_outcome = { lost = "=0", won = 5 }\n', 1)
    lines = summary(old, load_programme(limits + '[goals]\nwon = ["Order Completed"]\n'))
    assert lines == [
        "score engagement: max - → 50",
        "score engagement: on_outcome - → lost = 0, won 5",
        "goals changed",
    ]
    diff = line_diff(SEED_GRID, with_token(SEED_GRID, 15))
    assert [(line.kind, line.text) for line in diff if line.kind in ("add", "del")] == [
        ("del", "-wp_vision = 12                # white paper C: our vision, interest in *our* offer"),
        ("add", "+wp_vision = 15                # white paper C: our vision, interest in *our* offer"),
    ]


def test_edits_keep_comments_and_errors_point_at_their_line() -> None:
    edited = put_rule(SEED_GRID, {"id": "wp-c", "points": 7, "score": "engagement", "when": {"type": "page"}}, "wp-c")
    assert "# white paper C: our vision" in edited and "# agreed with sales" in edited
    lines = SEED_GRID.splitlines()
    where = error_line(SEED_GRID, ProgrammeError("rules[wp-c].points", "unknown token"))
    assert where is not None and lines[where - 1] == 'points = "wp_vision"'
    where = error_line(SEED_GRID, ProgrammeError("scores.engagement.sql", "x"))
    assert where is not None and lines[where - 1].startswith("sql = 12")
    where = error_line(SEED_GRID, ProgrammeError("campaigns[medical-chat].when.condition", "x"))
    assert where is not None and lines[where - 1] == 'condition = "medical > general"'
    assert error_line("a = 1\nb = \n", ProgrammeError("toml", "Invalid value (at line 2, column 5)")) == 2
