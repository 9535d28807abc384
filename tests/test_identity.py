"""Identity and merge rules, end to end through /collect (the incumbents' worst bugs live here)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tracker.domain.facts import CampaignMemory
from tracker.domain.identity import IdentityError, VisitorTokens, merge_campaign_memory, normalise_email, profile_fields
from tracker.services.identify import EMAIL_HELD
from tracker.store.privacy_queries import PERSON_REFERENCES
from tracker.store.queries import MERGE_RULES

from .conftest import Server
from .test_segment import lead_by_email, post


async def test_anonymous_history_is_kept_when_the_visitor_identifies(server: Server) -> None:
    marc = server.beacon()
    await marc.download("/demo/files/livre-blanc-a.pdf")
    await marc.page("/demo/blog/qualite/impression")
    anonymous_id = (await server.api(f"/api/visitors/{marc.vid}"))["person_id"]

    await marc.form("newsletter", email="marc@example.com")

    lead = await server.person_of(marc)
    assert lead["id"] == anonymous_id  # no known person existed: the visitor's person becomes known
    assert lead["email"] == "marc@example.com"
    assert lead["stage"] == "known"
    assert lead["scores"]["engagement"] == 4
    assert [e["type"] for e in reversed(lead["timeline"])] == ["download", "page", "form"]


async def test_known_person_survives_and_absorbs_a_new_devices_history(server: Server) -> None:
    laptop = server.beacon()
    await laptop.download("/demo/files/livre-blanc-a.pdf")
    await laptop.form("newsletter", email="marc@example.com")
    known = await server.person_of(laptop)

    phone = server.beacon()
    await phone.download("/demo/files/livre-blanc-b.pdf")
    for slug in ("a", "b", "c"):
        await phone.page(f"/demo/blog/qualite/{slug}")
    phone_person = (await server.api(f"/api/visitors/{phone.vid}"))["person_id"]
    await phone.form("newsletter", email="MARC@example.com ")

    merged = await server.person_of(phone)
    assert merged["id"] == known["id"]  # the older, known person's id never changes
    assert merged["scores"]["engagement"] == 13  # 2 + 5 + 3 × 2, replayed over both devices
    assert merged["stage"] == "sql"
    assert len(merged["devices"]) == 2
    assert merged["merged_ids"] == [phone_person]
    # The merged-away id still resolves (other systems may hold it).
    resolved = await server.api(f"/api/leads/{phone_person}")
    assert resolved["id"] == known["id"] and resolved["resolved_from"] == phone_person
    # The ledger is rebuilt from the replay: it sums to the score.
    assert sum(row["points"] for row in merged["ledger"] if row["score"] == "engagement") == 13
    # Nothing is left pointing at the loser.
    for table in ("events", "visitors", "ledger", "decisions", "person_scores", "stages"):

        async def orphans(q, table=table):  # type: ignore[no-untyped-def]
            return await q.conn.fetchval(f"SELECT COUNT(*) FROM {table} WHERE person_id = ?", phone_person)

        assert await server.runtime.store.read(orphans) == 0, table


async def test_replay_applies_caps_to_the_merged_history(server: Server) -> None:
    first = server.beacon()
    await first.download("/demo/files/livre-blanc-c.pdf")
    await first.form("newsletter", email="capucine@example.com")
    second = server.beacon()
    await second.download("/demo/files/livre-blanc-c.pdf")  # "once" per person, not per device
    await second.form("newsletter", email="capucine@example.com")
    lead = await server.person_of(second)
    assert lead["scores"]["engagement"] == 12


async def test_two_identified_people_on_one_browser_are_never_merged(server: Server) -> None:
    shared = server.beacon()
    await shared.download("/demo/files/livre-blanc-c.pdf")
    await shared.form("newsletter", email="alice@example.com")
    alice = await server.person_of(shared)
    alice_token = shared.vid

    await shared.form("newsletter", email="bob@example.com")
    bob = await server.person_of(shared)

    assert shared.vid != alice_token  # Bob gets a fresh visitor
    assert bob["id"] != alice["id"]
    assert bob["email"] == "bob@example.com"
    assert bob["scores"]["engagement"] == 0  # Alice's white paper stays Alice's
    alice_after = await server.api(f"/api/leads/{alice['id']}")
    assert alice_after["email"] == "alice@example.com"
    assert alice_after["scores"]["engagement"] == 12
    assert [e["type"] for e in alice_after["timeline"]] == ["form", "download"]
    # Alice's old token still maps to Alice.
    assert (await server.api(f"/api/visitors/{alice_token}"))["person_id"] == alice["id"]


async def test_second_identity_on_a_shared_browser_joins_an_existing_person(server: Server) -> None:
    bob_device = server.beacon()
    await bob_device.form("newsletter", email="bob@example.com")
    bob = await server.person_of(bob_device)
    shared = server.beacon()
    await shared.form("newsletter", email="alice@example.com")
    await shared.form("newsletter", email="bob@example.com")
    assert (await server.person_of(shared))["id"] == bob["id"]


async def test_identifying_twice_with_the_same_email_is_a_no_op(server: Server) -> None:
    b = server.beacon()
    await b.form("newsletter", email="elodie@example.com")
    token = b.vid
    before = await server.person_of(b)
    await b.form("newsletter", email=" Elodie@Example.com")
    after = await server.person_of(b)
    assert b.vid == token and after["id"] == before["id"]
    assert after["stages"] == before["stages"]


@pytest.mark.parametrize("junk", ["", "null", "anonymous", "0", "undefined", "-1", "0000", "[object Object]"])
async def test_junk_identities_are_rejected(server: Server, junk: str) -> None:
    b = server.beacon()
    data = await b.send(
        {"type": "page", "url": "http://shop.test/demo/"}, {"type": "identify", "props": {"email": junk}}
    )
    assert data["rejected"] == [
        {"index": 1, "field": "events[1].props.email", "message": data["rejected"][0]["message"]}
    ]
    assert (await server.person_of(b))["email"] is None
    assert await server.count("persons") == 1


async def test_a_form_with_a_junk_email_is_kept_but_identifies_nobody(server: Server) -> None:
    b = server.beacon()
    await b.form("demo", email="null", company="ACME")
    lead = await server.person_of(b)
    assert lead["email"] is None and lead["profile"]["company"] == "ACME"
    assert lead["scores"]["engagement"] == 30


async def test_tampered_or_foreign_tokens_start_a_new_visitor(server: Server) -> None:
    b = server.beacon()
    await b.form("newsletter", email="victim@example.com")
    victim = await server.person_of(b)
    assert b.vid is not None
    visitor_id, _, signature = b.vid.partition(".")
    for forged in (
        f"{visitor_id}.{'A' * len(signature)}",
        visitor_id,
        VisitorTokens("another-secret").sign("demo", visitor_id),
        VisitorTokens("test-secret").sign("other-site", visitor_id),
        "x" * 500,
    ):
        attacker = server.beacon()
        data = await attacker.send({"type": "page", "url": "http://shop.test/demo/"}, vid=forged)
        assert data["vid"] != b.vid
        assert (await server.person_of(attacker))["id"] != victim["id"]


async def test_cookie_alone_identifies_the_visitor(server: Server) -> None:
    b = server.beacon()
    await b.page("/demo/")
    token = b.vid
    b.vid = None  # localStorage was cleared; the HttpOnly cookie is still there
    data = await b.page("/demo/x")
    assert data["vid"] == token


def test_normalise_email() -> None:
    assert normalise_email("  Marc.Dupont@Example.FR ") == "marc.dupont@example.fr"
    for bad in ("marc", "marc@", "@example.com", "a b@example.com", 42, None):
        with pytest.raises(IdentityError):
            normalise_email(bad)


def test_profile_fields_drop_secrets_and_use_canonical_names() -> None:
    fields = profile_fields(
        {
            "Email": "x@example.com",
            "Fonction": "Acheteur",
            "Société": "ACME",
            "password": "hunter2",
            "csrf_token": "abc",
            "card-number": "4111111111111111",
            "phone": "  ",
        }
    )
    assert fields == {"job_title": "Acheteur", "company": "ACME"}


def test_campaign_memory_merge_keeps_the_strongest_memory() -> None:
    a = {"popup": CampaignMemory(impressions=1, last_impression=10.0, sessions=["v1:1"], closed=None)}
    b = {
        "popup": CampaignMemory(impressions=2, last_impression=20.0, sessions=["v2:1"], closed=15.0),
        "chat": CampaignMemory(converted=5.0),
    }
    merged = merge_campaign_memory(a, b)
    assert merged["popup"].impressions == 3
    assert merged["popup"].last_impression == 20.0
    assert merged["popup"].sessions == ["v1:1", "v2:1"]
    assert merged["popup"].closed == 15.0
    assert merged["chat"].converted == 5.0


async def test_scores_earned_before_a_switch_in_one_batch_stay_with_the_first_person(server: Server) -> None:
    shared = server.beacon()
    await shared.form("newsletter", email="alice@example.com")
    await shared.send(
        {"type": "download", "url": "http://shop.test/demo/files/livre-blanc-c.pdf"},
        {"type": "form", "name": "newsletter", "props": {"email": "bob@example.com"}},
    )
    leads = await server.api("/api/leads", min_score=12)
    assert [(lead["email"], lead["scores"]["engagement"]) for lead in leads["leads"]] == [("alice@example.com", 12)]


async def test_ids_of_merged_away_persons_are_never_reused(server: Server) -> None:
    for _ in range(3):
        b = server.beacon()
        await b.page("/demo/")
        await b.form("newsletter", email="same@example.com")
    lead = (await server.api("/api/leads"))["leads"][0]
    detail = await server.api(f"/api/leads/{lead['id']}")
    assert len(detail["merged_ids"]) == 2 and lead["id"] not in detail["merged_ids"]
    newcomer = server.beacon()
    await newcomer.page("/demo/")
    found = await server.api(f"/api/visitors/{newcomer.vid}")
    assert found["person_id"] not in detail["merged_ids"]


def test_every_table_that_holds_a_person_has_a_merge_rule() -> None:
    assert set(MERGE_RULES) == {table for table, _ in PERSON_REFERENCES}


# -- e-mail changes and e-mails held by someone else (Segment identify) -------------------------


async def identify(server: Server, anonymous_id: str, user_id: str, email: str) -> dict[str, Any]:
    message = {"anonymousId": anonymous_id, "userId": user_id, "traits": {"email": email}}
    response = await post(server, "/v1/identify", message)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["accepted"] == 1
    return body


async def test_a_known_user_id_with_a_new_email_changes_the_email(server: Server) -> None:
    await identify(server, "d1", "u-1", "old@example.com")
    answer = await identify(server, "d1", "u-1", "New@Example.com")
    assert answer["notes"] == []
    lead = await lead_by_email(server, "new@example.com")
    assert lead["user_id"] == "u-1"
    assert [(h["field"], h["previous"], h["value"], h["applied"]) for h in lead["profile_history"]] == [
        ("email", "old@example.com", "new@example.com", True)
    ]
    assert await server.count("persons") == 1
    # Another device of the same user id joins the same person, under the new e-mail.
    await identify(server, "d2", "u-1", "new@example.com")
    assert await server.count("persons") == 1


async def test_an_email_held_by_another_user_id_is_never_stolen(server: Server) -> None:
    await identify(server, "d1", "u-1", "x@example.com")
    answer = await identify(server, "d1", "u-2", "x@example.com")
    assert answer["notes"] == [{"index": 0, "message": EMAIL_HELD}]
    holder = await lead_by_email(server, "x@example.com")
    assert holder["user_id"] == "u-1"
    leads = (await server.api("/api/leads", stage="anonymous,known,mql,sql"))["leads"]
    assert {(lead["email"], lead["user_id"]) for lead in leads} == {(None, "u-2"), ("x@example.com", "u-1")}
    # The same holds when a known user tries to change to an e-mail someone else holds.
    answer = await identify(server, "d3", "u-2", "x@example.com")
    assert answer["notes"] == [{"index": 0, "message": EMAIL_HELD}]
    assert (await lead_by_email(server, "x@example.com"))["user_id"] == "u-1"
    # And when the e-mail's holder has no user id but the user id is someone else's.
    await server.beacon().form("newsletter", email="y@example.com")
    answer = await identify(server, "d4", "u-2", "y@example.com")
    assert answer["notes"] == [{"index": 0, "message": EMAIL_HELD}]
    assert (await lead_by_email(server, "y@example.com"))["user_id"] is None


# -- a stranger who types someone's e-mail ------------------------------------------------------


async def test_a_device_new_to_a_person_only_fills_empty_profile_fields(server: Server) -> None:
    laptop = server.beacon()
    await laptop.form("contact", email="marc@example.com", company="Acme", job_title="Responsable achats")
    stranger = server.beacon()
    await stranger.page("/demo/emplois")
    await stranger.form("contact", email="marc@example.com", company="Evil Corp", job_title="Stagiaire", tel="0600")

    lead = await server.person_of(stranger)
    assert lead["id"] == (await server.person_of(laptop))["id"]  # the merge itself is kept
    assert lead["profile"] == {"company": "Acme", "job_title": "Responsable achats", "phone": "0600"}
    withheld = {(h["field"], h["value"], h["previous"]) for h in lead["profile_history"] if not h["applied"]}
    assert withheld == {("company", "Evil Corp", "Acme"), ("job_title", "Stagiaire", "Responsable achats")}


async def test_the_persons_own_device_updates_its_profile(server: Server) -> None:
    laptop = server.beacon()
    await laptop.form("contact", email="marc@example.com", company="Acme")
    await laptop.form("contact", email="marc@example.com", company="Acme Group")
    lead = await server.person_of(laptop)
    assert lead["profile"]["company"] == "Acme Group"
    assert [(h["field"], h["previous"], h["value"], h["applied"]) for h in lead["profile_history"]] == [
        ("company", "Acme", "Acme Group", True),
        ("company", None, "Acme", True),
    ]


async def test_a_merged_anonymous_profile_never_overwrites_the_known_one(server: Server) -> None:
    laptop = server.beacon()
    await laptop.form("contact", email="marc@example.com", company="Acme")
    stranger = server.beacon()
    await stranger.form("survey", company="Evil Corp", industry="Santé")  # no e-mail: anonymous profile
    await stranger.form("newsletter", email="marc@example.com")
    lead = await server.person_of(laptop)
    assert lead["profile"] == {"company": "Acme", "industry": "Santé"}
    # Newest first: the merge withheld the anonymous value, which the history of both keeps.
    assert [(h["value"], h["applied"]) for h in lead["profile_history"] if h["field"] == "company"] == [
        ("Evil Corp", False),
        ("Evil Corp", True),
        ("Acme", True),
    ]


async def test_any_sequence_of_identities_is_accepted_and_never_splits_an_identity(server: Server) -> None:
    """Random identify calls over a few devices, user ids and e-mails: every one is accepted (a
    clash is a named note, never a 500), and no e-mail or user id ever ends on two people."""
    rng = random.Random(20261130)
    devices, users, emails = ["d1", "d2", "d3", "d4"], ["u-1", "u-2", "u-3", None], ["a@x.fr", "b@x.fr", "c@x.fr", None]
    for _ in range(120):
        user, email = rng.choice(users), rng.choice(emails)
        if user is None and email is None:
            continue
        message: dict[str, Any] = {"anonymousId": rng.choice(devices), "traits": {"email": email} if email else {}}
        if user is not None:
            message["userId"] = user
        response = await post(server, "/v1/identify", message)
        assert response.status_code == 200, (message, response.text)
        assert response.json()["accepted"] == 1
        form = {"email": email} if email else {"company": "x"}
        await server.beacon().form("contact", **form)
    leads = (await server.api("/api/leads", stage="anonymous,known,mql,sql", limit=500))["leads"]
    for key in ("email", "user_id"):
        held = [lead[key] for lead in leads if lead[key] is not None]
        assert len(held) == len(set(held))
