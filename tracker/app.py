"""``create_app(settings)``: the one place routes are listed and parts are wired."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from tracker.assets import asset_root
from tracker.config import Settings
from tracker.domain.devices import warm_up
from tracker.domain.identity import VisitorTokens
from tracker.domain.sites import normalise_origin
from tracker.errors import HTTPError
from tracker.services import abuse, metrics
from tracker.services.accounts import refresh_periodically
from tracker.services.background import Background
from tracker.services.kept_reports import KeptReports
from tracker.services.outbox import Deliverer
from tracker.services.privacy import PURGE_EVERY, purge_periodically
from tracker.services.reports import WeekTops
from tracker.services.runtime import Runtime, new_visitor_id
from tracker.services.sites import RELOAD_SECONDS, SiteRegistry, seed_site
from tracker.services.webhooks import renderer
from tracker.store import open_store
from tracker.web import accounts as accounts_api
from tracker.web import calibration, email, experiments, exports, openapi, segment, traffic, webhooks
from tracker.web import collect as ingest
from tracker.web import leads as api
from tracker.web import what_if as what_if_api
from tracker.web.admin import accounts as accounts_console
from tracker.web.admin import audit as audit_page
from tracker.web.admin import calibration as calibration_page
from tracker.web.admin import campaigns, dashboard, lead_page, programme_edit, programme_pages, thresholds
from tracker.web.admin import email_links as email_links_page
from tracker.web.admin import experiments as experiments_page
from tracker.web.admin import keys as keys_page
from tracker.web.admin import leads as leads_console
from tracker.web.admin import pages as console
from tracker.web.admin import privacy as privacy_page
from tracker.web.admin import rescore as rescore_console
from tracker.web.admin import settings as own_settings
from tracker.web.admin import sites as sites_page
from tracker.web.admin import users as users_page
from tracker.web.admin import webhooks as webhooks_page
from tracker.web.admin import what_if as what_if_console
from tracker.web.admin.session import Console
from tracker.web.beacon import beacon_route
from tracker.web.demo import demo_routes
from tracker.web.direct import DirectRoute, DirectRoutes, ErrorHandler
from tracker.web.nosniff import NoSniff
from tracker.web.responses import json_response

GC_THRESHOLDS = (10_000, 50, 100)
log = logging.getLogger("tracker")
DEMO_PROGRAMME = asset_root() / "examples" / "seed-programme.toml"
DEMO_SITE = "demo"
DEMO_NAME = "Démo — imprimantes 3D"


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    visitor_ids: Callable[[], str] = new_visitor_id,
    purge_every: float = PURGE_EVERY,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The app; the keyword arguments are for tests (a fake clock, known visitor ids, and a
    webhook transport made without loading the CA bundle again, ~20 ms per app)."""
    store = open_store(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    runtime = Runtime(
        settings=settings,
        store=store,
        sites=SiteRegistry(store),
        tokens=VisitorTokens(settings.signing_secret()),
        clock=clock,
        new_visitor_id=visitor_ids,
        guard=abuse.Guard(settings, settings.signing_secret()),
    )
    background = Background()
    kept_reports = KeptReports(clock)
    deliverer = Deliverer(
        store,
        renderer(runtime.sites, clock),
        clock=clock,
        attempts=settings.webhook_attempts,
        base=settings.webhook_backoff,
        poll=settings.webhook_poll,
        transport=webhook_transport,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        if settings.demo:
            await seed_site(
                store, DEMO_SITE, name=DEMO_NAME, programme=DEMO_PROGRAMME.read_text(encoding="utf-8"), now=clock()
            )
        await runtime.sites.load()
        # The first visitor should not pay for compiling the crawler list (~100 ms); and what
        # start-up built lives as long as the process: keep the collector from re-scanning it.
        warm_up()
        gc.freeze()
        # A beacon call allocates a few thousand short-lived objects; the default threshold (700)
        # ran a young collection several times per request.  Measured: /collect in-process 165 →
        # 151 CPU-µs per request; under wrk new visitors 329 → 309, /v1/batch −7 %, returning
        # visitors unchanged (311 → 312).
        gc.set_threshold(*GC_THRESHOLDS)
        reloader = asyncio.create_task(_reload_sites(runtime.sites), name="site-reloader")
        purger = asyncio.create_task(purge_periodically(store, clock, purge_every), name="retention-purge")
        # Account stages that move with the clock alone (a renewal date coming near).
        refresher = asyncio.create_task(refresh_periodically(store, runtime.sites, clock), name="account-refresh")
        await deliverer.start()
        try:
            async with abuse.counting(runtime.guard, store):
                yield
        finally:
            # Deliveries still queued stay in the outbox for the next start (or another instance).
            await deliverer.stop()
            await background.stop()
            await kept_reports.stop()
            reloader.cancel()
            purger.cancel()
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reloader
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            await store.close()

    app = _App(routes=routes(settings), lifespan=lifespan, exception_handlers=ERROR_HANDLERS)
    app.state.runtime = runtime
    app.state.deliverer = deliverer
    app.state.background = background
    app.state.console = Console(runtime)
    app.state.week_tops = WeekTops()  # the dashboard's top lists, shared by its readers
    app.state.kept_reports = kept_reports
    return app


class _App(Starlette):
    def build_middleware_stack(self) -> ASGIApp:
        # NoSniff outermost, around ServerErrorMiddleware too: a crash's 500 is sent from there.
        # The beacon's route goes past all of it (web.direct), adding the header itself.
        return DirectRoutes(NoSniff(super().build_middleware_stack()), self.routes, ERROR_HANDLERS)


def routes(settings: Settings) -> list[BaseRoute]:
    table: list[BaseRoute] = [
        DirectRoute("/collect", ingest.collect, method="POST"),
        Route("/collect", _preflight, methods=["OPTIONS"]),
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", _readyz, methods=["GET"]),
        Route("/metrics", metrics.metrics, methods=["GET"]),
        Route("/api/leads", exports.list_leads, methods=["GET"]),
        Route("/api/leads/{person_id}", api.get_lead, methods=["GET"]),
        Route("/api/leads/{person_id}/reroute", api.reroute_lead, methods=["POST"]),
        Route("/api/leads/{person_id}/outcome", api.record_lead_outcome, methods=["POST"]),
        Route("/api/owners", api.list_owners, methods=["GET"]),
        Route("/api/owners/{owner}", api.set_owner, methods=["PUT"]),
        Route("/api/webhooks", webhooks.list_webhooks, methods=["GET"]),
        Route("/api/webhooks", webhooks.create_webhook, methods=["POST"]),
        Route("/api/webhooks/deliveries", webhooks.list_deliveries, methods=["GET"]),
        Route("/api/webhooks/deliveries/{delivery_id}/resend", webhooks.resend_delivery, methods=["POST"]),
        Route("/api/webhooks/{webhook_id}", webhooks.delete_webhook, methods=["DELETE"]),
        Route("/api/exports/leads.csv", exports.leads_csv, methods=["GET"]),
        Route("/api/exports/leads.ndjson", exports.leads_ndjson, methods=["GET"]),
        Route("/api/exports/timeline.csv", exports.timeline_csv, methods=["GET"]),
        Route("/api/exports/timeline.ndjson", exports.timeline_ndjson, methods=["GET"]),
        Route("/api/visitors/{token}", api.get_visitor, methods=["GET"]),
        Route("/api/openapi.json", openapi.openapi, methods=["GET"]),
        Route("/api/people", api.export_person, methods=["GET"]),
        Route("/api/people", api.erase_person, methods=["DELETE"]),
        Route("/api/people/{person_id}/export", api.export_person, methods=["GET"]),
        Route("/api/people/{person_id}", api.erase_person, methods=["DELETE"]),
        Route("/api/internal-links", traffic.create_internal_link, methods=["POST"]),
        Route("/api/ignored-traffic", traffic.ignored_traffic, methods=["GET"]),
        Route("/api/campaigns/{campaign_id}/experiment", experiments.campaign_experiment, methods=["GET"]),
        Route("/api/sales-holdout", experiments.sales_holdout, methods=["GET"]),
        Route("/internal", traffic.internal_browser, methods=["GET"]),
        Route("/v1/batch", segment.batch, methods=["POST"]),
        Route("/v1/b", segment.batch, methods=["POST"]),
        Route("/v1/{kind}", segment.single, methods=["POST"]),
        beacon_route(),
        # The console (README "Console"): each page names its permission in the role matrix.
        Route("/", console.root, methods=["GET"]),
        Route("/admin/", dashboard.home, methods=["GET"]),
        Route("/admin/console.css", console.console_asset, methods=["GET"]),
        Route("/admin/console.js", console.console_asset, methods=["GET"]),
        Route("/admin/htmx.js", console.console_asset, methods=["GET"]),
        Route("/admin/login", console.login_form, methods=["GET"]),
        Route("/admin/login", console.login, methods=["POST"]),
        Route("/admin/logout", console.logout, methods=["POST"]),
        Route("/admin/setup", console.setup_form, methods=["GET"]),
        Route("/admin/setup", console.setup, methods=["POST"]),
        Route("/admin/leads", leads_console.leads, methods=["GET"]),
        Route("/admin/leads/{person_id}", lead_page.lead, methods=["GET"]),
        Route("/admin/leads/{person_id}/outcome", lead_page.outcome, methods=["POST"]),
        Route("/admin/leads/{person_id}/reassign", lead_page.reassign, methods=["POST"]),
        Route("/admin/settings", own_settings.settings_form, methods=["GET"]),
        Route("/admin/settings", own_settings.save_settings, methods=["POST"]),
        Route("/admin/thresholds", thresholds.page, methods=["GET"]),
        Route("/admin/thresholds", thresholds.propose, methods=["POST"]),
        Route("/admin/thresholds/{proposal_id}/approve", thresholds.approve, methods=["POST"]),
        Route("/admin/thresholds/{proposal_id}/reject", thresholds.reject, methods=["POST"]),
        Route("/admin/thresholds/{proposal_id}/withdraw", thresholds.withdraw, methods=["POST"]),
        Route("/admin/campaigns", campaigns.campaign_list, methods=["GET"]),
        Route("/admin/campaigns/new", campaigns.campaign_new, methods=["GET"]),
        Route("/admin/campaigns/new", campaigns.campaign_save, methods=["POST"]),
        Route("/admin/campaigns/preview", campaigns.campaign_preview, methods=["GET"]),
        Route("/admin/campaigns/audience", campaigns.campaign_audience, methods=["GET"]),
        Route("/admin/campaigns/{campaign_id}", campaigns.campaign_edit, methods=["GET"]),
        Route("/admin/campaigns/{campaign_id}", campaigns.campaign_save, methods=["POST"]),
        Route("/admin/campaigns/{campaign_id}/delete", campaigns.campaign_delete, methods=["POST"]),
        Route("/admin/campaigns/{campaign_id}/experiment/end", experiments_page.experiment_end, methods=["POST"]),
        Route("/admin/campaigns/{campaign_id}/experiment/keep", experiments_page.experiment_keep, methods=["POST"]),
        Route("/admin/programme", programme_pages.programme, methods=["GET"]),
        Route("/admin/programme/versions", programme_pages.versions, methods=["GET"]),
        Route("/admin/programme/version", programme_pages.version, methods=["GET"]),
        Route("/admin/programme/export", programme_pages.export, methods=["GET"]),
        Route("/admin/programme/rollback", programme_pages.rollback, methods=["POST"]),
        Route("/admin/programme/clone", programme_pages.clone, methods=["POST"]),
        Route("/admin/programme/edit", programme_edit.edit_page, methods=["GET"]),
        Route("/admin/programme/edit/tokens", programme_edit.save_tokens, methods=["POST"]),
        Route("/admin/programme/edit/scores", programme_edit.save_scores, methods=["POST"]),
        Route("/admin/programme/edit/toml", programme_edit.save_toml, methods=["POST"]),
        Route("/admin/programme/edit/discard", programme_edit.discard, methods=["POST"]),
        Route("/admin/programme/edit/rebase", programme_edit.rebase, methods=["POST"]),
        Route("/admin/programme/rule", programme_edit.rule_page, methods=["GET"]),
        Route("/admin/programme/rule", programme_edit.save_rule, methods=["POST"]),
        Route("/admin/programme/publish", programme_edit.publish, methods=["POST"]),
        Route("/admin/programme/import", programme_edit.import_page, methods=["GET"]),
        Route("/admin/programme/import", programme_edit.import_toml, methods=["POST"]),
        Route("/admin/users", users_page.users_page, methods=["GET"]),
        Route("/admin/users", users_page.create_user, methods=["POST"]),
        Route("/admin/users/change", users_page.change_user, methods=["POST"]),
        Route("/admin/sites", sites_page.sites_page, methods=["GET"]),
        Route("/admin/sites", sites_page.create_site, methods=["POST"]),
        Route("/admin/sites/{key}", sites_page.site_page, methods=["GET"]),
        Route("/admin/sites/{key}", sites_page.save_site, methods=["POST"]),
        Route("/admin/keys", keys_page.keys_page, methods=["GET"]),
        Route("/admin/keys", keys_page.create, methods=["POST"]),
        Route("/admin/keys/revoke", keys_page.revoke, methods=["POST"]),
        Route("/admin/webhooks", webhooks_page.webhooks_page, methods=["GET"]),
        Route("/admin/webhooks", webhooks_page.add, methods=["POST"]),
        Route("/admin/webhooks/remove", webhooks_page.remove, methods=["POST"]),
        Route("/admin/webhooks/resend", webhooks_page.resend, methods=["POST"]),
        Route("/admin/audit", audit_page.audit, methods=["GET"]),
        Route("/admin/privacy", privacy_page.privacy_page, methods=["GET"]),
        Route("/admin/privacy/export", privacy_page.download, methods=["POST"]),
        Route("/admin/privacy/erase", privacy_page.erase, methods=["POST"]),
        Route("/api/reports/conversion", calibration.conversion_report, methods=["GET"]),
        Route("/api/reports/behaviours", calibration.behaviours_report, methods=["GET"]),
        Route("/api/reports/distribution", calibration.distribution_report, methods=["GET"]),
        Route("/api/reports/conversion.csv", calibration.conversion_csv, methods=["GET"]),
        Route("/api/reports/behaviours.csv", calibration.behaviours_csv, methods=["GET"]),
        Route("/api/reports/distribution.csv", calibration.distribution_csv, methods=["GET"]),
        Route("/api/reports/timing.csv", calibration.timing_csv, methods=["GET"]),
        Route("/admin/reports", calibration_page.reports, methods=["GET"]),
        Route("/api/programme/what-if", what_if_api.programme_what_if, methods=["POST"]),
        Route("/api/programme/what-if/runs/{run_id}", what_if_api.what_if_run, methods=["GET"]),
        Route("/admin/programme/what-if", what_if_console.what_if_page, methods=["GET"]),
        Route("/admin/programme/what-if", what_if_console.replay_again, methods=["POST"]),
        Route("/admin/programme/what-if/progress", what_if_console.what_if_progress, methods=["GET"]),
        Route("/admin/programme/rescore", rescore_console.rescore_page, methods=["GET"]),
        Route("/admin/programme/rescore", rescore_console.start_rescore, methods=["POST"]),
        Route("/admin/programme/rescore/progress", rescore_console.rescore_progress, methods=["GET"]),
        Route("/r/{token}", email.click, methods=["GET"]),
        Route("/o/{token}.gif", email.pixel, methods=["GET"]),
        Route("/api/email-links", email.create_links, methods=["POST"]),
        Route("/admin/email-links", email_links_page.form_page, methods=["GET"]),
        Route("/admin/email-links", email_links_page.create, methods=["POST"]),
        Route("/api/accounts", accounts_api.list_accounts, methods=["GET"]),
        Route("/api/accounts/{account_id}", accounts_api.get_account, methods=["GET"]),
        Route("/admin/accounts", accounts_console.accounts, methods=["GET"]),
        Route("/admin/accounts/{account_id}", accounts_console.account, methods=["GET"]),
    ]
    if settings.demo:
        table.extend(demo_routes())
    return table


async def _reload_sites(sites: SiteRegistry) -> None:
    while True:
        await asyncio.sleep(RELOAD_SECONDS)
        try:
            await sites.refresh()
        except Exception:  # a failed poll must not kill the poller; the next one retries
            log.exception("reloading sites failed")


async def _healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def _readyz(request: Request) -> Response:
    """Ready when the database answers: a load balancer sends traffic only then."""
    runtime: Runtime = request.app.state.runtime
    try:
        await runtime.store.read(lambda q: q.conn.fetchval("SELECT 1"))
    except Exception as exc:  # any failure means "not ready", and says why
        return json_response({"status": "unavailable", "message": f"database: {exc}"}, 503)
    return json_response({"status": "ready", "sites": runtime.sites.count()})


async def _preflight(request: Request) -> Response:
    """CORS preflight: the site is in the body, so allow an origin any site allows."""
    origin = request.headers.get("origin", "")
    runtime: Runtime = request.app.state.runtime
    allowed = origin and (normalise_origin(origin) == ingest.own_origin(request) or runtime.sites.any_allows(origin))
    if not allowed:
        return Response(status_code=403)
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        },
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return json_response(exc.to_json(), exc.status, headers=exc.headers)


async def _starlette_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    return json_response({"error": code, "message": exc.detail, "field": "path"}, exc.status_code)


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_response({"error": "internal", "message": "internal error; nothing was acknowledged"}, 500)


# Each exception class rendered by one handler, for Starlette's stack and for web.direct alike.
ERROR_HANDLERS: dict[type[Exception], ErrorHandler] = {
    HTTPError: _http_error,
    HTTPException: _starlette_error,
    Exception: _crash,
}
