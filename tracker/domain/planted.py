"""Planted effects: the hidden truth a simulated history is generated from, for calibration to find.

A ``Plan`` declares why simulated leads buy: a base chance, behaviours that multiply it
(white paper C makes a lead three times as likely to buy), and a hidden "true" score,
summed from points per behaviour, above which the chance jumps.  The simulator draws each
lead's fate from it and returns the ``Truth``: the plan and every lead's behaviours, true
score, chance and fate, so a report computed from the stored history can be checked
against what was really planted.

Multipliers act on the chance itself, not on the odds, so "×3" is the ratio of conversion
rates a report's lift measures (as long as the chance stays under 1).  Only identified
people can convert: sales records outcomes on leads, never on anonymous visitors.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from tracker.domain.journeys import Step

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Something a person may do on the site, and what it truly does to their chance to buy."""

    name: str
    type: str  # the event type: page, download, form
    path: str = "*"  # a pattern (fnmatch) on the demo path, e.g. "*/livre-blanc-c*"
    form: str = ""  # forms: the form's name
    lift: float = 1.0  # multiplies the chance of whoever did it (once, however often)
    points: float = 0.0  # hidden true score it adds, each time unless ``once``
    once: bool = True

    def matches(self, step: Step) -> bool:
        return step.type == self.type and fnmatch.fnmatchcase(step.path, self.path) and self.form in ("", step.name)


@dataclass(frozen=True, slots=True)
class Plan:
    """Why simulated leads buy, and when sales hears of it."""

    base: float = 0.04  # a lead's chance to buy before any behaviour
    behaviours: tuple[Behaviour, ...] = ()
    threshold: float | None = None  # hidden true score from which the chance jumps
    jump: float = 1.0  # ... by this factor
    # Days from a lead's last visit to the sale (or the loss): uniform within.
    window: tuple[float, float] = (3.0, 30.0)
    contacted: float = 0.5  # share of leads who will not buy that sales still contacts (then loses)
    reasons: tuple[str, ...] = ("budget", "concurrent", "pas de projet", "calendrier")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Plan:
        """A plan as ``to_json`` writes it (every key optional); ``PlanError`` names a wrong key."""
        if not isinstance(data, Mapping):
            raise PlanError("plan", "a plan is a JSON object")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise PlanError(unknown[0], "unknown key")
        default = cls()
        behaviours = data.get("behaviours", [])
        if not isinstance(behaviours, list):
            raise PlanError("behaviours", "a list of behaviours")
        threshold = data.get("threshold")
        window = data.get("window", default.window)
        if not (isinstance(window, list | tuple) and len(window) == 2):
            raise PlanError("window", "two numbers of days: [earliest, latest]")
        earliest, latest = (_number(day, "window", 0.0, 3650.0) for day in window)
        if earliest > latest:
            raise PlanError("window", "the earliest day comes after the latest")
        reasons = data.get("reasons", default.reasons)
        if not (isinstance(reasons, list | tuple) and reasons and all(isinstance(r, str) and r for r in reasons)):
            raise PlanError("reasons", "a list of words saying why leads are lost")
        return cls(
            base=_number(data.get("base", default.base), "base", 0.0, 1.0),
            behaviours=tuple(_behaviour(raw, f"behaviours[{n}]") for n, raw in enumerate(behaviours)),
            threshold=None if threshold is None else _number(threshold, "threshold", -1e9, 1e9),
            jump=_number(data.get("jump", default.jump), "jump", 0.0, 1e6),
            window=(earliest, latest),
            contacted=_number(data.get("contacted", default.contacted), "contacted", 0.0, 1.0),
            reasons=tuple(reasons),
        )


class PlanError(ValueError):
    """A plan that cannot be planted, naming the key that is wrong."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _behaviour(raw: Any, where: str) -> Behaviour:
    if not isinstance(raw, Mapping):
        raise PlanError(where, "a behaviour is an object with a name and a type")
    unknown = sorted(set(raw) - set(Behaviour.__dataclass_fields__))
    if unknown:
        raise PlanError(f"{where}.{unknown[0]}", "unknown key")
    texts = {key: raw.get(key, "*" if key == "path" else "") for key in ("name", "type", "path", "form")}
    for key, text in texts.items():
        if not isinstance(text, str) or (key in ("name", "type") and not text):
            raise PlanError(f"{where}.{key}", "text" if key in ("path", "form") else "text, not empty")
    once = raw.get("once", True)
    if not isinstance(once, bool):
        raise PlanError(f"{where}.once", "true or false")
    return Behaviour(
        **texts,
        lift=_number(raw.get("lift", 1.0), f"{where}.lift", 0.0, 1e6),
        points=_number(raw.get("points", 0.0), f"{where}.points", -1e9, 1e9),
        once=once,
    )


def _number(raw: Any, key: str, low: float, high: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or not low <= raw <= high:
        raise PlanError(key, f"a number from {low:g} to {high:g}")
    return float(raw)


# The demo's truth: the seed programme's points as true points (a lead's true score is their
# engagement as long as decay has not acted), white paper C triples the chance, pricing and a
# demo request double it, the job offers all but end it, and 20 true points (a demo request,
# or C with a few quality articles) triple it again.
DEMO_PLAN = Plan(
    base=0.04,
    behaviours=(
        Behaviour("wp-a", "download", "*/livre-blanc-a*", points=2),
        Behaviour("wp-b", "download", "*/livre-blanc-b*", lift=1.5, points=5),
        Behaviour("wp-c", "download", "*/livre-blanc-c*", lift=3.0, points=12),
        Behaviour("quality-blog", "page", "/demo/blog/qualite/?*", points=2, once=False),
        Behaviour("pricing", "page", "/demo/tarifs*", lift=2.0, points=5),
        Behaviour("demo-request", "form", form="demo", lift=2.0, points=30),
        Behaviour("job-offers", "page", "/demo/emplois*", lift=0.2, points=-15),
    ),
    threshold=20,
    jump=3.0,
)


@dataclass(frozen=True, slots=True)
class Lead:
    """One identified person's hidden truth."""

    email: str
    did: tuple[str, ...]  # the plan's behaviours they did, in the plan's order
    score: float  # hidden true score
    chance: float  # of buying
    buys: bool  # their fate
    first_seen: float
    last_seen: float
    decided_at: float  # when the sale (or the loss) happens; after ``now`` it is not recorded yet
    value: float | None = None  # what they buy for

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Truth:
    """What a simulation planted and generated: the plan, its leads' fates, and the counts."""

    plan: Plan
    seed: int
    now: float
    days: int
    people: int
    requests: int
    events: int
    outcomes: int  # outcomes recorded by ``now``
    bots: int  # requests from crawlers and scrapers
    leads: tuple[Lead, ...] = field(default=())

    def won(self, lead: Lead) -> bool:
        """Whether ``lead`` was recorded as won by ``now``."""
        return lead.buys and lead.decided_at < self.now  # as the simulator writes sales: before now

    def rate(self, behaviour: str, *, did: bool) -> tuple[int, int]:
        """(won by now, leads) among the leads who did ``behaviour`` (or did not)."""
        group = [lead for lead in self.leads if (behaviour in lead.did) == did]
        return sum(self.won(lead) for lead in group), len(group)

    def to_json(self) -> dict[str, Any]:
        counts = {key: getattr(self, key) for key in ("people", "requests", "events", "outcomes", "bots")}
        return {
            "seed": self.seed,
            "now": self.now,
            "days": self.days,
            "plan": self.plan.to_json(),
            "counts": {**counts, "leads": len(self.leads), "won": sum(map(self.won, self.leads))},
            "leads": [lead.to_json() for lead in self.leads],
        }


def did_and_score(plan: Plan, steps: Iterable[Step]) -> tuple[tuple[str, ...], float]:
    """The plan's behaviours found among ``steps`` and the hidden true score they add up to."""
    done: dict[str, int] = {}
    for step in steps:
        for behaviour in plan.behaviours:
            if behaviour.matches(step):
                done[behaviour.name] = done.get(behaviour.name, 0) + 1
    score = sum(b.points * (1 if b.once else done[b.name]) for b in plan.behaviours if b.name in done)
    return tuple(b.name for b in plan.behaviours if b.name in done), score


def chance(plan: Plan, did: Iterable[str], score: float) -> float:
    """A lead's chance to buy: the base times every lift of what they did, times the jump past the threshold."""
    lifts: Mapping[str, float] = {behaviour.name: behaviour.lift for behaviour in plan.behaviours}
    value = plan.base * math.prod(lifts[name] for name in did)
    if plan.threshold is not None and score >= plan.threshold:
        value *= plan.jump
    return min(1.0, value)
