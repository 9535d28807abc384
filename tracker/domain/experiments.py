"""Campaign experiments: variants (A/B/n) and a persistent control group, declared per campaign.

A campaign's ``[campaigns.experiment]`` splits the people it targets into arms: ``control``
(held out: shown nothing, logged as "held out" at the moment they would have been shown),
each variant (the campaign with its own copy) and ``original`` (the campaign as written),
which takes whatever share the others leave.

Assignment is a pure function of the experiment's salt, the campaign and the person id, so
a person sees the same arm on every device and request without anything being stored, and
a merge keeps the survivor's arm because the survivor keeps its id.  Changing the shares or
the salt moves people between arms: that is why ending a variant is its own action.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.domain.facts import Decision
from tracker.domain.programme.checks import ProgrammeError, compile_array, expect_table, parse_duration, reject_unknown

CONTROL = "control"
ORIGINAL = "original"
# The decision log's action for a control-group person a campaign would have been shown to.
HELD_OUT_ACTION = "held_out"
GOALS = ("conversion", "won")
# Shares are percentages with up to two decimals: one bucket is 0.01 %.
BUCKETS = 10_000
DEFAULT_WINDOW = "14d"
# The copy a variant may change; targeting, trigger and caps stay the campaign's, so arms differ by copy only.
VARIANT_COPY = frozenset({"title", "text", "cta", "form", "opener"})
_KEYS = frozenset({"salt", "control", "window", "goal", "variants"})
_VARIANT_KEYS = VARIANT_COPY | {"id", "share"}

# Compiles a variant's copy (the campaign's table with the variant's keys over it) where ``str`` names it.
CompileCopy = Callable[[Mapping[str, Any], str], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm: its name, its share in percent and its copy (None for control, which shows nothing)."""

    name: str
    share: float
    content: Mapping[str, Any] | None
    upper: int  # buckets below this (and above the previous arm's) belong to this arm


@dataclass(frozen=True, slots=True)
class Experiment:
    salt: str
    arms: tuple[Arm, ...]
    window: float  # seconds after the first exposure in which a conversion counts
    goals: frozenset[str]

    def arm_of(self, campaign: str, person_id: int) -> Arm:
        bucket = bucket_of(self.salt, campaign, person_id)
        return next(arm for arm in self.arms if bucket < arm.upper)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(arm.name for arm in self.arms)


def bucket_of(salt: str, campaign: str, person_id: int) -> int:
    """A stable, uniform bucket in ``[0, BUCKETS)``; sha256 so that no two campaigns split alike."""
    digest = hashlib.sha256(f"{salt}\x00{campaign}\x00{person_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


@dataclass(frozen=True, slots=True)
class Exposure:
    """A person met a campaign of an experiment: shown arm ``arm``, or held out (arm ``control``)."""

    campaign: str
    arm: str

    @property
    def held_out(self) -> bool:
        return self.arm == CONTROL


def assign(
    decisions: Sequence[Decision], experiments: Mapping[str, Experiment], person_id: int
) -> tuple[list[Decision], list[Exposure]]:
    """The decisions to send, each in the person's arm, and every exposure to log.

    A held-out campaign keeps its placement empty rather than letting a lower campaign show
    there: the control group gets nothing where the campaign would have been.
    """
    shown: list[Decision] = []
    exposures: list[Exposure] = []
    for decision in decisions:
        experiment = experiments.get(decision.campaign)
        if experiment is None:
            shown.append(decision)
            continue
        arm = experiment.arm_of(decision.campaign, person_id)
        exposures.append(Exposure(decision.campaign, arm.name))
        if arm.content is not None:
            shown.append(dataclasses.replace(decision, content=arm.content, variant=arm.name))
    return shown, exposures


# ---------------------------------------------------------------------------
# Compiling


def compile_experiment(
    raw: Any, table: Mapping[str, Any], content: Mapping[str, Any], where: str, compile_copy: CompileCopy
) -> Experiment:
    """Compile ``campaigns[x].experiment``; ``table`` is the campaign's raw table, ``content`` its compiled copy."""
    where = f"{where}.experiment"
    spec = expect_table(raw, where)
    reject_unknown(spec, _KEYS, where)
    salt = spec.get("salt", "")
    if not isinstance(salt, str) or len(salt) > 64:
        raise ProgrammeError(f"{where}.salt", "expected a text of at most 64 characters")
    control = _share(spec.get("control", 0), f"{where}.control", minimum=0)
    variants = compile_array(
        spec.get("variants", []),
        f"{where}.variants",
        lambda index, item: _variant(index, item, table, where, compile_copy),
    )
    if not variants and control == 0:
        raise ProgrammeError(f"{where}.variants", "an experiment needs a variant or a control share")
    arms: list[Arm] = []
    total = 0
    for variant in [_Variant(CONTROL, control, None), *variants]:
        if variant.share == 0:
            continue
        total += round(variant.share * 100)
        if total > BUCKETS:
            at = f"{where}.control" if variant.id == CONTROL else f"{where}.variants[{variant.id}].share"
            raise ProgrammeError(at, f"the control and variant shares add up to {total / 100:g} %, at most 100")
        arms.append(Arm(variant.id, variant.share, variant.content, total))
    if total < BUCKETS:
        arms.append(Arm(ORIGINAL, (BUCKETS - total) / 100, content, BUCKETS))
    else:
        arms[-1] = dataclasses.replace(arms[-1], upper=BUCKETS)
    return Experiment(
        salt=salt,
        arms=tuple(arms),
        window=parse_duration(spec.get("window", DEFAULT_WINDOW), f"{where}.window"),
        goals=_goals(spec.get("goal", "conversion"), f"{where}.goal"),
    )


@dataclass(frozen=True, slots=True)
class _Variant:
    id: str
    share: float
    content: Mapping[str, Any] | None


def _variant(index: int, raw: Any, table: Mapping[str, Any], where: str, compile_copy: CompileCopy) -> _Variant:
    spec = expect_table(raw, f"{where}.variants[{index}]")
    name = spec.get("id")
    if not isinstance(name, str) or not name or name in (CONTROL, ORIGINAL) or not _is_name(name):
        raise ProgrammeError(
            f"{where}.variants[{index}].id",
            f"every variant needs an id (letters, digits, '-', '_'; not {CONTROL!r} or {ORIGINAL!r})",
        )
    at = f"{where}.variants[{name}]"
    reject_unknown(spec, _VARIANT_KEYS, at)
    share = _share(spec.get("share"), f"{at}.share", minimum=0.01)
    overrides = {key: value for key, value in spec.items() if key in VARIANT_COPY}
    if not overrides:
        raise ProgrammeError(at, f"a variant changes the copy: set one of {', '.join(sorted(VARIANT_COPY))}")
    return _Variant(name, share, compile_copy({**table, **overrides}, at))


def _is_name(text: str) -> bool:
    return len(text) <= 32 and all(c.isascii() and (c.isalnum() or c in "-_") for c in text)


def _share(value: Any, where: str, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not minimum <= value <= 100:
        raise ProgrammeError(where, f"expected a percentage from {minimum:g} to 100, got {value!r}")
    if abs(round(value * 100) - value * 100) > 1e-6:
        raise ProgrammeError(where, "at most two decimals")
    return float(value)


def _goals(value: Any, where: str) -> frozenset[str]:
    wanted = value if isinstance(value, list) else [value]
    if not wanted or any(goal not in GOALS for goal in wanted):
        raise ProgrammeError(where, f"expected one or a list of {', '.join(GOALS)}, got {value!r}")
    return frozenset(wanted)
