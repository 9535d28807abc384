"""A campaign in the marketer's words, in the reader's language: targeting, trigger, caps.

Patterns, score names and URLs are data and stay as written; only the words around them
are translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.web.admin.campaign_form import toml_text
from tracker.web.admin.i18n import N_, gettext

# The [campaigns.when] keys that only a visit can tell, named for "cannot be judged from stored state".
VISIT_KEYS = {
    "url": N_("the page URL"),
    "referrer": N_("the referrer"),
    "utm": N_("the UTM parameters"),
    "device": N_("the device"),
    "returning": N_("a returning visit"),
    "visits": N_("the visit number"),
    "condition": N_("the condition (it reads the visit)"),
}


def targeting(language: str, when: Any) -> list[str]:
    """One phrase per condition; all must hold."""
    if not isinstance(when, Mapping) or not when:
        return [gettext(language, "Everyone")]
    words: list[str] = []
    for name, spec in (when.get("scores") or {}).items():
        words.append(gettext(language, "score %(name)s %(spec)s", name=name, spec=toml_text(spec)))
    if "stage" in when:
        words.append(gettext(language, "stage %(stages)s", stages=_choices(language, when["stage"])))
    for key, phrase in (("url", N_("on a page matching %(p)s")), ("referrer", N_("coming from %(p)s"))):
        if key in when:
            words.append(gettext(language, phrase, p=_choices(language, when[key])))
    for key, spec in (when.get("utm") or {}).items():
        words.append(gettext(language, "UTM %(key)s %(spec)s", key=key, spec=toml_text(spec)))
    if "device" in when:
        words.append(gettext(language, "on %(devices)s", devices=_choices(language, when["device"])))
    if "returning" in when:
        words.append(
            gettext(language, "returning visitors") if when["returning"] else gettext(language, "first visits")
        )
    if "visits" in when:
        words.append(gettext(language, "visit number %(spec)s", spec=toml_text(when["visits"])))
    if "condition" in when:
        words.append(gettext(language, "when %(condition)s", condition=toml_text(when["condition"])))
    return words


def _choices(language: str, spec: Any) -> str:
    items = spec if isinstance(spec, list) else [spec]
    return gettext(language, " or ").join(toml_text(item) for item in items)


def trigger(language: str, spec: Any) -> str:
    if isinstance(spec, Mapping) and "delay" in spec:
        return gettext(language, "after %(n)s s on the page", n=toml_text(spec["delay"]))
    if isinstance(spec, Mapping) and "scroll" in spec:
        return gettext(language, "at %(n)s%% of the page scrolled", n=toml_text(spec["scroll"]))
    if spec == "exit":
        return gettext(language, "when the visitor is about to leave")
    return gettext(language, "as the page loads")


def caps(language: str, table: Mapping[str, Any]) -> list[str]:
    frequency = table.get("frequency", "session")
    fixed = {
        "session": N_("once per visit"),
        "once": N_("once ever"),
        "always": N_("on every page"),
    }
    words = [
        gettext(language, fixed[frequency])
        if frequency in fixed
        else gettext(language, "at most once every %(span)s", span=toml_text(frequency))
    ]
    after_close = table.get("after_close", "30d")
    words.append(
        gettext(language, "never again after a close")
        if after_close == "forever"
        else gettext(language, "hidden for %(span)s after a close", span=toml_text(after_close))
    )
    after_conversion = table.get("after_conversion", "forever")
    words.append(
        gettext(language, "never again after a conversion")
        if after_conversion == "forever"
        else gettext(language, "hidden for %(span)s after a conversion", span=toml_text(after_conversion))
    )
    return words


def visit_keys(language: str, keys: tuple[str, ...]) -> str:
    return ", ".join(gettext(language, VISIT_KEYS.get(key, key)) for key in keys)
