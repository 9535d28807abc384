"""The programme's ``[email]`` section: how e-mail engagement scores.

```toml
[email]
score_flagged = false   # default: clicks by security scanners and prefetched opens never score
```

Flagged e-mail events (see ``domain.email_signals``) are always recorded; a marketer whose
audience clicks from behind a cloud proxy may choose to score them anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.facts import EMAIL_EVENTS, EMAIL_FLAG, Event
from tracker.domain.programme.checks import ProgrammeError, expect_table, reject_unknown

_KEYS = frozenset({"score_flagged"})


@dataclass(frozen=True, slots=True)
class EmailOptions:
    score_flagged: bool = False


def compile_email(spec: Any) -> EmailOptions:
    if spec is None:
        return EmailOptions()
    table: Mapping[str, Any] = expect_table(spec, "email")
    reject_unknown(table, _KEYS, "email")
    score_flagged = table.get("score_flagged", False)
    if not isinstance(score_flagged, bool):
        raise ProgrammeError("email.score_flagged", f"expected true or false, got {score_flagged!r}")
    return EmailOptions(score_flagged=score_flagged)


def unscored(event: Event, score_flagged: bool) -> bool:
    """Whether scoring passes ``event`` by: a flagged e-mail event, unless the programme scores those."""
    return event.type in EMAIL_EVENTS and bool(event.props.get(EMAIL_FLAG)) and not score_flagged
