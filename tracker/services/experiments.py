"""Experiments as marketers run them: a campaign's results so far, ending a variant, keeping the winner;
and what the sales holdout shows sales adds.

Results are read from the decision log (who met which arm first, when) and the goals reached
since (``uplift``).  Ending a variant and keeping the winner are programme changes: the
campaign's TOML is edited and published like any campaign save, audited under their own name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.experiments import CONTROL, DEFAULT_WINDOW, ORIGINAL, VARIANT_COPY, Experiment
from tracker.domain.programme.campaign_edit import campaign_tables
from tracker.domain.programme.checks import parse_duration
from tracker.domain.programme.sales_holdout import DEFAULT_WINDOW as HOLDOUT_WINDOW
from tracker.domain.programme.sales_holdout import HOLDOUT_REASON, ROUTED_REASON
from tracker.domain.sites import Site
from tracker.domain.uplift import ArmResult, FirstExposure, arm_results
from tracker.errors import BadRequest, HTTPError, NotFound
from tracker.services.campaigns import save_campaign
from tracker.services.programmes import Published
from tracker.store import Queries, Store


class NoExperiment(HTTPError):
    """The campaign runs no experiment (any more): someone ended it, or the campaign, since the page was read."""

    status = 409
    code = "no_experiment"


# An experiment no longer in the programme is read with the defaults (its settings went with it).
ENDED_GOALS = ("conversion",)


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    campaign: str
    running: bool
    window: float
    goals: tuple[str, ...]
    reference: str | None  # the arm the others are compared with: control, else the original
    shares: Mapping[str, float]  # the running arms' shares in percent
    arms: list[ArmResult]
    # The programme version read: what ending a variant or keeping the winner is based on.
    version: int


async def experiment_report(store: Store, site: Site, campaign: str) -> ExperimentReport:
    """The campaign's experiment so far; NotFound when the campaign neither runs nor ran one."""
    experiment = site.programme.experiments.get(campaign)
    goals = tuple(sorted(experiment.goals)) if experiment is not None else ENDED_GOALS

    async def read(q: Queries) -> ExperimentReport:
        exposures = await q.experiment_exposures(site.id, campaign)
        if experiment is None and not exposures:
            raise NotFound(f"campaign {campaign!r} runs no experiment", field="campaign_id")
        running = experiment.names if experiment is not None else ()
        logged = {row.arm for row in exposures}
        # Ended: the arms the log met, control first and the original last as while it ran.
        order = running or tuple(sorted(logged, key=lambda name: (name != CONTROL, name == ORIGINAL, name)))
        reference = next((name for name in (CONTROL, ORIGINAL) if name in running or name in logged), None)
        window = experiment.window if experiment is not None else parse_duration(DEFAULT_WINDOW, "window")
        reached = await q.experiment_goals(site.id, campaign, goals)
        latest = await q.latest_programme_version(site.id)
        return ExperimentReport(
            campaign=campaign,
            running=experiment is not None,
            window=window,
            goals=goals,
            reference=reference,
            shares={arm.name: arm.share for arm in experiment.arms} if experiment is not None else {},
            arms=arm_results(exposures, reached, window, order, reference),
            version=latest.number if latest is not None else 0,
        )

    return await store.read(read)


async def end_variant(
    store: Store, site: Site, campaign: str, variant: str, *, base_version: int, author: str, now: float
) -> Published:
    """Stop showing ``variant`` (or stop holding people out, for ``control``): its share goes to the original."""
    table, experiment = _running(site, campaign)
    spec = dict(table["experiment"])
    if variant == CONTROL and CONTROL in experiment.names:
        spec.pop("control")
    elif variant != CONTROL and variant in experiment.names and variant != ORIGINAL:
        spec["variants"] = [v for v in spec.get("variants", []) if v.get("id") != variant]
    else:
        raise BadRequest(f"{variant!r} is not an arm of the experiment that can be ended", field="variant")
    changed = {key: value for key, value in table.items() if key != "experiment"}
    if spec.get("variants") or spec.get("control"):
        changed["experiment"] = {key: value for key, value in spec.items() if key != "variants" or value}
    comment = f"experiment of campaign {campaign}: {variant} ended"
    return await _publish(store, site, campaign, changed, "experiment_end", base_version, author, comment, now)


async def keep_variant(
    store: Store, site: Site, campaign: str, variant: str, *, base_version: int, author: str, now: float
) -> Published:
    """End the experiment: everybody gets ``variant``'s copy (the original's for ``original``) from now on."""
    table, experiment = _running(site, campaign)
    if variant == CONTROL or variant not in experiment.names:
        raise BadRequest(f"{variant!r} is not a variant of the experiment that can be kept", field="variant")
    copy: dict[str, Any] = {}
    for raw in table["experiment"].get("variants", []):
        if raw.get("id") == variant:
            copy = {key: value for key, value in raw.items() if key in VARIANT_COPY}
    changed = {key: value for key, value in table.items() if key != "experiment"} | copy
    comment = f"experiment of campaign {campaign}: {variant} kept for everybody"
    return await _publish(store, site, campaign, changed, "experiment_keep", base_version, author, comment, now)


def _running(site: Site, campaign: str) -> tuple[dict[str, Any], Experiment]:
    table = campaign_tables(site.programme.source).get(campaign)
    experiment = site.programme.experiments.get(campaign)
    if table is None or experiment is None:
        raise NoExperiment(f"campaign {campaign!r} runs no experiment (any more)", field="campaign_id")
    return table, experiment


async def _publish(
    store: Store,
    site: Site,
    campaign: str,
    table: Mapping[str, Any],
    action: str,
    base_version: int,
    author: str,
    comment: str,
    now: float,
) -> Published:
    return await save_campaign(
        store, site, campaign, table, base_version=base_version, author=author, comment=comment, now=now, action=action
    )


# The sales holdout's two arms, as reports name them.
HELD_OUT_ARM, ROUTED_ARM = "held_out", "routed"


@dataclass(frozen=True, slots=True)
class HoldoutReport:
    share: float | None  # the share held out now; None: the holdout is off (its past leads still count)
    window: float
    since: float | None  # the first lead held out: routed leads count from then on, for like with like
    arms: list[ArmResult]  # held out first (the reference), then routed


async def sales_holdout_report(store: Store, site: Site) -> HoldoutReport:
    """Leads won within the window after entering sql: held out of routing against routed since the holdout began."""
    holdout = site.programme.sales_holdout
    window = holdout.window if holdout is not None else parse_duration(HOLDOUT_WINDOW, "window")
    arm_of = {HOLDOUT_REASON: HELD_OUT_ARM, ROUTED_REASON: ROUTED_ARM}

    async def read(q: Queries) -> HoldoutReport:
        leads = await q.sales_holdout_leads(site.id, list(arm_of))
        since = min((lead.ts for lead in leads if lead.arm == HOLDOUT_REASON), default=None)
        compared = [
            FirstExposure(lead.person_id, arm_of[lead.arm], lead.ts)
            for lead in leads
            if since is not None and lead.ts >= since
        ]
        won = await q.leads_won(site.id, list(arm_of))
        arms = arm_results(compared, won, window, (HELD_OUT_ARM, ROUTED_ARM), HELD_OUT_ARM)
        return HoldoutReport(holdout.share if holdout is not None else None, window, since, arms)

    return await store.read(read)
