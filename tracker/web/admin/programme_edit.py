"""The programme editor: token values, scores (thresholds, decay), a rule editor with a condition
builder, the whole TOML, import; a draft per user and site; publish with a comment.

Every form changes the user's draft through ``domain.programme.edit`` (tomlkit: comments and
layout stay) and only if the result compiles; otherwise the page comes back with the input
kept and the error beside its field or TOML line.  Publishing goes through
``services.programmes.publish``: a stale base names who published since, a threshold change
points at /admin/thresholds and can be published without it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.facts import RULE_EVENT_TYPES
from tracker.domain.programme import edit
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.describe import describe
from tracker.domain.programme.load import load_programme
from tracker.errors import HTTPError
from tracker.services import programmes
from tracker.services.programmes import History, StalePublish, ThresholdsNeedAgreement
from tracker.store.programme_queries import VersionRecord
from tracker.web.admin.i18n import gettext
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.programme_pages import changes, keep_active_thresholds, no_programme, site_history, stale_words
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.params import int_param

WHEN_TEXT_KEYS = ("url", "url_regex", "referrer", "name", "form", "engaged", "visit")
EXTRA_ROWS = 2  # empty rows offered for new fields and props


class Working:
    """What the user edits: their draft, else the active programme, and the version it starts from."""

    def __init__(self, history: History, source: str, base: int, saved_at: float | None) -> None:
        self.history = history
        self.source = source
        self.base = base
        self.saved_at = saved_at  # None: no draft, the active programme

    @property
    def newer(self) -> list[VersionRecord]:
        """Versions published since the draft started: publishing it would be refused."""
        return [v for v in self.history.versions if v.number > self.base]


async def working(request: Request, visit: Visit, key: str | None) -> Working:
    history = await site_history(request, key)
    draft = await programmes.draft(runtime_of(request).store, visit.session.user.id, history.site.id)
    if draft is None:
        return Working(history, history.site.programme, history.current, None)
    return Working(history, draft.source, draft.base_version, draft.updated_at)


async def editor(
    request: Request,
    visit: Visit,
    work: Working,
    *,
    source: str | None = None,
    errors: Mapping[str, str] | None = None,
    toml_error: tuple[int | None, ProgrammeError] | None = None,
    thresholds: Sequence[str] = (),
    comment: str = "",
    form: Mapping[str, str] | None = None,
    stale: str | None = None,
    saved: str | None = None,
) -> Response:
    """The edit page; ``source`` and ``form`` are the user's input when it could not be saved (kept, never lost)."""
    text = source if source is not None else work.source
    try:
        tables: dict[str, Any] | None = describe(load_programme(work.source))
        raw = tomllib.loads(work.source)
    except ProgrammeError:
        tables, raw = None, {}
    line = toml_error[0] if toml_error else None
    return show_page(
        request,
        visit,
        "programme_edit.html",
        site=work.history.site,
        work=work,
        text=text,
        tables=tables,
        raw_scores=raw.get("scores", {}),
        diff=changes(work.history.site.programme, work.source),
        errors=errors or {},
        toml_error=toml_error,
        excerpt=_excerpt(text, line) if line else [],
        thresholds=list(thresholds),
        comment=comment,
        form=form or {},
        stale=stale,
        saved=saved,
    )


def toml_text(posted: str) -> str:
    """A posted TOML with the line ends it was written with: browsers send a textarea's as CRLF."""
    return posted.replace("\r\n", "\n")


def _excerpt(source: str, line: int) -> list[tuple[int, str, bool]]:
    lines = source.splitlines()
    return [(n, lines[n - 1], n == line) for n in range(max(1, line - 2), min(len(lines), line + 2) + 1)]


async def keep(request: Request, visit: Visit, work: Working, source: str, base: int | None = None) -> None:
    """Save ``source`` as the user's draft of the site (from ``base``, the draft's own by default)."""
    runtime = runtime_of(request)
    await programmes.save_draft(
        runtime.store,
        visit.session.user.id,
        work.history.site.id,
        source,
        work.base if base is None else base,
        runtime.clock(),
    )


def _to_editor(site_key: str, saved: str) -> Response:
    return RedirectResponse(f"/admin/programme/edit?{urlencode({'site': site_key, 'saved': saved})}", status_code=303)


@requires("programme.edit")
async def edit_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    try:
        work = await working(request, visit, request.query_params.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    return await editor(request, visit, work, saved=request.query_params.get("saved"))


async def _apply(
    request: Request,
    visit: Visit,
    form: dict[str, str],
    change: Callable[[str], str],
    saved: str,
    field_of: Callable[[ProgrammeError], str],
) -> Response:
    """Apply ``change`` to the working copy and keep it as the draft if the programme still compiles."""
    try:
        work = await working(request, visit, form.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    try:
        source = change(work.source)
        await keep(request, visit, work, source)
    except ProgrammeError as exc:
        return await editor(request, visit, work, errors={field_of(exc): exc.message}, form=form)
    return _to_editor(work.history.site.key, saved)


@requires("programme.edit")
async def save_tokens(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    def change(source: str) -> str:
        values = {
            key.removeprefix("token:"): _number(text, key) for key, text in form.items() if key.startswith("token:")
        }
        new_name = form.get("new_token", "").strip()
        if new_name:
            values[new_name] = _number(form.get("new_value", ""), "new_value")
        removed = [key.removeprefix("remove:") for key in form if key.startswith("remove:")]
        return edit.set_tokens(source, values, removed)

    return await _apply(request, visit, form, change, "tokens", _token_field)


def _token_field(exc: ProgrammeError) -> str:
    if exc.where.startswith("tokens."):
        return f"token:{exc.where.removeprefix('tokens.')}"
    return exc.where if exc.where.startswith(("token:", "new_")) else "tokens"


@requires("programme.edit")
async def save_scores(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    names = [key.removeprefix("mql:") for key in form if key.startswith("mql:")]

    def change(source: str) -> str:
        for name in names:
            after, percent = form.get(f"decay_after:{name}", "").strip(), form.get(f"decay_percent:{name}", "")
            decay = (after, _number(percent, f"scores.{name}.decay.percent")) if after or percent.strip() else None
            source = edit.set_score(
                source,
                name,
                mql=_optional(form.get(f"mql:{name}", ""), f"scores.{name}.mql"),
                sql=_optional(form.get(f"sql:{name}", ""), f"scores.{name}.sql"),
                decay=decay,
            )
        return source

    return await _apply(request, visit, form, change, "scores", lambda exc: exc.where.replace(".decay.", ".decay_"))


def _number(text: str, where: str) -> float:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ProgrammeError(where, "expected a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ProgrammeError(where, "expected a number")
    return value


def _optional(text: str, where: str) -> float | None:
    return _number(text, where) if text.strip() else None


@requires("programme.edit")
async def save_toml(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    source = toml_text(form.get("source", ""))
    try:
        work = await working(request, visit, form.get("site"))
        await keep(request, visit, work, source)
    except ProgrammeError as exc:
        return await editor(request, visit, work, source=source, toml_error=(edit.error_line(source, exc), exc))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    return _to_editor(work.history.site.key, "toml")


@requires("programme.edit")
async def discard(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    try:
        work = await working(request, visit, form.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    await programmes.discard_draft(runtime_of(request).store, visit.session.user.id, work.history.site.id)
    return _to_editor(work.history.site.key, "discarded")


@requires("programme.edit")
async def publish(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Publish the text the page showed, from the version it showed; refusals keep the text as the draft."""
    language, _ = reader(request, visit)
    runtime = runtime_of(request)
    try:
        work = await working(request, visit, form.get("site"))
        base = int_param(form.get("base_version"), "base_version", minimum=0, default=work.base)
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    source, comment = toml_text(form.get("source", work.source)), form.get("comment", "").strip()
    if not comment:
        return await editor(
            request, visit, work, source=source, errors={"comment": gettext(language, "Say what changes and why.")}
        )
    site, user = work.history.site, visit.session.user
    if source == site.programme:
        message = gettext(language, "Nothing to publish: this is the active version.")
        return await editor(request, visit, work, source=source, comment=comment, errors={"comment": message})
    try:
        if form.get("keep_thresholds"):
            source = keep_active_thresholds(source, site.programme)
        done = await programmes.publish(
            runtime.store, site.key, source, base_version=base, author=user.email, comment=comment, now=runtime.clock()
        )
    except ProgrammeError as exc:
        return await editor(
            request, visit, work, source=source, comment=comment, toml_error=(edit.error_line(source, exc), exc)
        )
    except ThresholdsNeedAgreement as exc:
        return await editor(request, visit, work, source=source, comment=comment, thresholds=list(exc.extra["changes"]))
    except StalePublish as exc:
        # Nothing is lost: the refused text becomes (or stays) the user's draft, on its old base.
        await keep(request, visit, work, source, base)
        work = await working(request, visit, site.key)
        return await editor(request, visit, work, comment=comment, stale=stale_words(request, visit, exc))
    await programmes.discard_draft(runtime.store, user.id, site.id)
    await runtime.sites.refresh()
    return RedirectResponse(
        f"/admin/programme/version?{urlencode({'site': site.key, 'n': done.version})}", status_code=303
    )


@requires("programme.edit")
async def rebase(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Keep the draft but start it from the latest version: the user saw what was published since."""
    try:
        work = await working(request, visit, form.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    await keep(request, visit, work, work.source, work.history.current)
    return _to_editor(work.history.site.key, "rebased")


@requires("programme.edit")
async def import_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    try:
        work = await working(request, visit, request.query_params.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    return show_page(request, visit, "programme_import.html", site=work.history.site, text="", error=None)


@requires("programme.edit")
async def import_toml(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """An uploaded or pasted TOML becomes the draft, to review and publish."""
    source = toml_text(form.get("file") or form.get("source", ""))
    try:
        work = await working(request, visit, form.get("site"))
        if not source.strip():
            raise ProgrammeError("toml", "paste a programme or choose a file")
        await keep(request, visit, work, source)
    except ProgrammeError as exc:
        line = edit.error_line(source, exc)
        site = work.history.site
        return show_page(request, visit, "programme_import.html", site=site, text=source, error=exc, line=line)
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    return _to_editor(work.history.site.key, "imported")


# ---- the rule editor ------------------------------------------------------------------------


@requires("programme.edit")
async def rule_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    try:
        work = await working(request, visit, request.query_params.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    rule_id = request.query_params.get("id", "")
    raw = _raw_rule(work.source, rule_id) if rule_id else {}
    return _rule_form(request, visit, work, _fields_of(raw), rule_id if raw else "", {})


@requires("programme.edit")
async def save_rule(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    try:
        work = await working(request, visit, form.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    original = form.get("original", "")
    try:
        if form.get("action") == "delete":
            source = edit.delete_rule(work.source, original)
        else:
            rule = _rule_of(form)
            source = edit.put_rule(work.source, rule, original or None)
        await keep(request, visit, work, source)
    except ProgrammeError as exc:
        return _rule_form(request, visit, work, form, original, {_rule_field(exc.where): exc.message})
    return _to_editor(work.history.site.key, "rule")


def _rule_form(
    request: Request, visit: Visit, work: Working, fields: Mapping[str, str], original: str, errors: dict[str, str]
) -> Response:
    programme = load_programme(work.source)
    rows = {group: _rows(fields, group) for group in ("field", "prop")}
    return show_page(
        request,
        visit,
        "programme_rule.html",
        site=work.history.site,
        fields=fields,
        original=original,
        errors=errors,
        rows=rows,
        scores=list(programme.scoring.scores),
        tokens=list(programme.scoring.tokens),
        event_types=sorted(RULE_EVENT_TYPES),
    )


def _rows(fields: Mapping[str, str], group: str) -> list[tuple[int, str, str]]:
    """The key/value rows of a group, filled ones first, then empty ones to add more."""
    filled = []
    index = 0
    while f"{group}_key_{index}" in fields:
        filled.append((fields[f"{group}_key_{index}"], fields.get(f"{group}_value_{index}", "")))
        index += 1
    kept = [(k, v) for k, v in filled if k.strip() or v.strip()]
    return [(i, k, v) for i, (k, v) in enumerate([*kept, *[("", "")] * EXTRA_ROWS])]


def _raw_rule(source: str, rule_id: str) -> Mapping[str, Any]:
    rules = tomllib.loads(source).get("rules", [])
    return next((r for r in rules if isinstance(r, Mapping) and r.get("id") == rule_id), {})


def _text(value: Any) -> str:
    """A TOML value as the builder shows it: text as is, anything else in TOML (``2``, ``["a", "b"]``)."""
    if isinstance(value, str):
        return value
    return edit.inline_text(value)


def _fields_of(raw: Mapping[str, Any]) -> dict[str, str]:
    """A rule's TOML as the form's fields."""
    when = raw.get("when", {}) if isinstance(raw.get("when"), Mapping) else {}
    kind = when.get("type", "")
    fields = {
        "id": str(raw.get("id", "")),
        "score": str(raw.get("score", "")),
        "points": _text(raw.get("points", "")),
        "limit": _text(raw.get("limit", "once")),
        "when_type": ", ".join(kind) if isinstance(kind, list) else str(kind),
    }
    fields.update({f"when_{key}": _text(when[key]) for key in WHEN_TEXT_KEYS if key in when})
    for group, key in (("field", "fields"), ("prop", "props")):
        table = when.get(key, {})
        for index, (name, value) in enumerate(table.items() if isinstance(table, Mapping) else []):
            fields[f"{group}_key_{index}"], fields[f"{group}_value_{index}"] = name, _text(value)
    return fields


def _rule_of(form: Mapping[str, str]) -> dict[str, Any]:
    """The form's fields as a rule table: the builder's conditions become the ``when`` keys."""
    when: dict[str, Any] = {}
    kinds = [k.strip() for k in form.get("when_type", "").split(",") if k.strip()]
    if kinds:
        when["type"] = kinds[0] if len(kinds) == 1 else kinds
    for key in WHEN_TEXT_KEYS:
        text = form.get(f"when_{key}", "").strip()
        if text:
            when[key] = edit.value_of(text) if key in ("engaged", "visit") else text
    for group, key in (("field", "fields"), ("prop", "props")):
        table = {k: edit.value_of(v) for _, k, v in _rows(form, group) if k.strip()}
        if table:
            when[key] = {k.strip(): v for k, v in table.items()}
    points_text = form.get("points", "").strip()
    points = edit.value_of(points_text) if points_text else None
    limit_text = form.get("limit", "").strip()
    return {
        "id": form.get("id", "").strip(),
        "score": form.get("score", "").strip(),
        "when": when,
        "points": points if isinstance(points, (int, float, str)) and not isinstance(points, bool) else points_text,
        "limit": edit.value_of(limit_text) if limit_text.isdigit() else (limit_text or None),
    }


def _rule_field(where: str) -> str:
    """``rules[x].when.props.price`` → the form field the error shows beside."""
    _, _, rest = where.partition("].")
    if rest.startswith("when.props"):
        return "props"
    if rest.startswith("when.fields"):
        return "fields"
    if rest.startswith("when."):
        return "when_" + rest.split(".")[1]
    return rest or "id"
