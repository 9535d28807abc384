"""The campaign editor's form: one flat set of inputs ⇄ one ``[[campaigns]]`` table.

Every input keeps the text the user typed (``values``), so a refused save shows it again
with the error beside it.  A value the form has no widget for (a list of patterns, a table)
is shown and read back as a TOML value (``[">= 3", "<= 1"]``), so editing never loses what
the TOML said.  Compile errors from the programme (``campaigns[x].cta.url``) land on the
input they concern through ``input_of``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from typing import Any

import tomlkit

from tracker.domain.decisions import MAX_FORM_FIELDS
from tracker.domain.facts import STAGES
from tracker.domain.targeting import DEVICES, UTM_KEYS

# Frequencies with a name; anything else is a duration ("every").
NAMED_FREQUENCIES = ("session", "once", "always")
# Written only when the user changes them or the TOML already said them, so a save never
# adds lines that mean what the TOML meant without them.
DEFAULTS: Mapping[str, Any] = {
    "priority": 0,
    "trigger": "immediate",
    "frequency": "session",
    "after_close": "30d",
    "after_conversion": "forever",
}
# Inputs that are names of the programme's keys as they are.
_SAME = ("id", "kind", "priority", "title", "text", "opener", "slot", "frequency", "after_close", "after_conversion")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_CAMPAIGN = re.compile(r"campaigns\[[^\]]*\]\.?")
_FIELD_ROW = re.compile(r"form\.fields\[(\d+)\](?:\.(name|label))?")


class FormError(ValueError):
    """An input no TOML can hold; ``message`` is English with ``%(name)s`` placeholders for the catalog."""

    def __init__(self, name: str, message: str, **values: str) -> None:
        super().__init__(message % values if values else message)
        self.name = name
        self.message = message
        self.values = values


def blank(kind: str = "popup") -> dict[str, str]:
    return {"kind": kind, "priority": "0", "trigger": "immediate", "frequency": "session", "after_close": "30d"}


def values_of(table: Mapping[str, Any]) -> dict[str, str]:
    """The inputs showing a campaign as the TOML has it."""
    values = {key: toml_text(table[key]) for key in _SAME if key in table}
    values.setdefault("priority", "0")
    cta = table.get("cta")
    if isinstance(cta, Mapping):
        values.update(cta_label=toml_text(cta.get("label", "")), cta_url=toml_text(cta.get("url", "")))
    form = table.get("form")
    if isinstance(form, Mapping):
        values.update(form_name=toml_text(form.get("name", "")), form_submit=toml_text(form.get("submit", "")))
        for row, field in enumerate(form.get("fields") or []):
            named = field if isinstance(field, Mapping) else {"name": field}
            values[f"field_name_{row}"] = toml_text(named.get("name", ""))
            values[f"field_label_{row}"] = toml_text(named.get("label", ""))
    trigger = table.get("trigger", "immediate")
    if isinstance(trigger, Mapping) and len(trigger) == 1:
        ((values["trigger"], amount),) = trigger.items()
        values["trigger_value"] = toml_text(amount)
    else:
        values["trigger"] = toml_text(trigger)
    frequency = values.get("frequency", "session")
    if frequency not in NAMED_FREQUENCIES:
        values.update(frequency="every", frequency_every=frequency)
    when = table.get("when")
    if isinstance(when, Mapping):
        values.update(_when_values(when))
    return values


def _when_values(when: Mapping[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key in ("url", "referrer"):
        if key in when:
            patterns = when[key]
            plain = isinstance(patterns, list) and all(isinstance(p, str) and "\n" not in p for p in patterns)
            values[f"when_{key}"] = "\n".join(patterns) if plain else toml_text(patterns)
    for key, choices in (("stage", STAGES), ("device", DEVICES)):
        chosen = when.get(key, [])
        chosen = chosen if isinstance(chosen, list) else [chosen]
        values.update({f"when_{key}_{c}": "on" for c in choices if c in chosen})
    if "returning" in when:
        values["when_returning"] = toml_text(when["returning"])
    for key in ("visits", "condition", "grade"):
        if key in when:
            values[f"when_{key}"] = toml_text(when[key])
    for group in ("scores", "utm"):
        table = when.get(group)
        if isinstance(table, Mapping):
            prefix = "score_" if group == "scores" else "utm_"
            values.update({f"{prefix}{name}": toml_text(spec) for name, spec in table.items()})
    return values


def toml_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return str(tomlkit.item(value).as_string())


def table_of(values: Mapping[str, str], score_names: Collection[str], original: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[[campaigns]]`` table the inputs describe; raises FormError on an input no TOML can hold."""
    kind = values.get("kind", "").strip()
    table: dict[str, Any] = {"id": values.get("id", "").strip(), "kind": kind}
    priority = values.get("priority", "").strip() or "0"
    if not re.fullmatch(r"-?\d+", priority):
        raise FormError("priority", "Enter a whole number.")
    table["priority"] = int(priority)
    kept = ("title", "text") + (("opener",) if kind == "chat" else ()) + (("slot",) if kind == "content" else ())
    table.update({key: values[key].strip() for key in kept if values.get(key, "").strip()})
    label, url = values.get("cta_label", "").strip(), values.get("cta_url", "").strip()
    if label or url:
        table["cta"] = {key: item for key, item in (("label", label), ("url", url)) if item}
    if kind == "popup":
        form = _form(values)
        if form:
            table["form"] = form
    table["trigger"] = _trigger(values)
    frequency = values.get("frequency", "session")
    table["frequency"] = values.get("frequency_every", "").strip() if frequency == "every" else frequency
    for key in ("after_close", "after_conversion"):
        if values.get(key, "").strip():
            table[key] = values[key].strip()
    when = _when(values, score_names)
    if when:
        table["when"] = when
    for key, default in DEFAULTS.items():
        if table.get(key) == default and key not in original:
            del table[key]
    if "experiment" in original:
        # The form has no widgets for variants: saving the campaign keeps its experiment as written.
        table["experiment"] = original["experiment"]
    return table


def _form(values: Mapping[str, str]) -> dict[str, Any]:
    fields: list[Any] = []
    for row in range(MAX_FORM_FIELDS):
        name, label = values.get(f"field_name_{row}", "").strip(), values.get(f"field_label_{row}", "").strip()
        if label and not name:
            raise FormError(f"field_name_{row}", "A label needs a field name.")
        if name:
            fields.append({"name": name, "label": label} if label else name)
    if not fields and not values.get("form_name", "").strip():
        return {}
    form: dict[str, Any] = {"name": values.get("form_name", "").strip(), "fields": fields}
    if values.get("form_submit", "").strip():
        form["submit"] = values["form_submit"].strip()
    return form


def _trigger(values: Mapping[str, str]) -> Any:
    trigger = values.get("trigger", "immediate")
    if trigger not in ("delay", "scroll"):
        return trigger
    amount = values.get("trigger_value", "").strip()
    if not _NUMBER.fullmatch(amount):
        raise FormError("trigger_value", "Enter a number.")
    return {trigger: _scalar(amount)}


def _when(values: Mapping[str, str], score_names: Collection[str]) -> dict[str, Any]:
    when: dict[str, Any] = {}
    for key in ("url", "referrer"):
        text = values.get(f"when_{key}", "").strip()
        if text:
            patterns = [line.strip() for line in text.splitlines() if line.strip()]
            when[key] = (
                _toml(f"when_{key}", text) if text[0] in "[{" else patterns[0] if len(patterns) == 1 else patterns
            )
    for key, choices in (("stage", STAGES), ("device", DEVICES)):
        chosen = [c for c in choices if values.get(f"when_{key}_{c}")]
        if chosen:
            when[key] = chosen[0] if len(chosen) == 1 else chosen
    returning = values.get("when_returning", "")
    if returning in ("true", "false"):
        when["returning"] = returning == "true"
    for key in ("visits", "grade"):
        if values.get(f"when_{key}", "").strip():
            when[key] = _spec(f"when_{key}", values[f"when_{key}"])
    scores = {
        name: _spec(f"score_{name}", values[f"score_{name}"]) for name in score_names if _given(values, f"score_{name}")
    }
    if scores:
        when["scores"] = scores
    utm = {key: _spec(f"utm_{key}", values[f"utm_{key}"]) for key in UTM_KEYS if _given(values, f"utm_{key}")}
    if utm:
        when["utm"] = utm
    if values.get("when_condition", "").strip():
        when["condition"] = values["when_condition"].strip()
    return when


def _given(values: Mapping[str, str], name: str) -> bool:
    return bool(values.get(name, "").strip())


def _spec(name: str, text: str) -> Any:
    """A pattern as typed: ``>= 12`` or ``mql`` as text, ``12`` as a number, ``[…]``/``{…}`` as TOML."""
    text = text.strip()
    return _toml(name, text) if text[0] in "[{" else _scalar(text)


def _scalar(text: str) -> Any:
    if _NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    return text


def _toml(name: str, text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError as exc:
        raise FormError(name, "Not a TOML value: %(problem)s", problem=str(exc)) from None


def input_of(where: str, score_names: Collection[str]) -> str:
    """The input a programme error points at (``campaigns[x].form.fields[2].label`` → ``field_label_2``), else ""."""
    key = _CAMPAIGN.sub("", where, count=1) if where.startswith("campaigns[") else ""
    row = _FIELD_ROW.fullmatch(key)
    if row:
        return f"field_{row.group(2) or 'name'}_{row.group(1)}"
    head, _, rest = key.partition(".")
    if head in _SAME and not rest:
        return head
    if head == "cta":
        return "cta_url" if rest == "url" else "cta_label"
    if head == "form":
        return {"submit": "form_submit", "fields": "field_name_0"}.get(rest, "form_name")
    if head == "trigger":
        return "trigger_value" if rest else "trigger"
    if head == "when":
        return _when_input(rest, score_names)
    return ""


def _when_input(key: str, score_names: Collection[str]) -> str:
    group, _, name = key.partition(".")
    if group == "scores" and name in score_names:
        return f"score_{name}"
    if group == "utm" and name in UTM_KEYS:
        return f"utm_{name}"
    if group in ("url", "referrer", "returning", "visits", "condition", "stage", "device", "grade"):
        return f"when_{group}"
    return ""
