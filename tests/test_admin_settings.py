"""``/admin/settings`` (tracker.web.admin.settings): a user's language and time zone, and the
console speaking French from the setting or from the browser's Accept-Language."""

from __future__ import annotations

from .conftest import Server
from .test_admin import csrf_of, session_of


async def test_the_login_page_speaks_the_browsers_language(server: Server) -> None:
    french = await server.http.get("/admin/login", headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text and "Se connecter" in french.text
    english = await server.http.get("/admin/login", headers={"accept-language": "de,en;q=0.5"})
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    assert "accept-language" in french.headers["vary"]


async def test_a_wrong_password_is_told_in_french(server: Server) -> None:
    answer = await server.http.post(
        "/admin/login", data={"email": "x@example.com", "password": "nope"}, headers={"accept-language": "fr"}
    )
    assert answer.status_code == 401 and "E-mail ou mot de passe incorrect." in answer.text


async def test_a_saved_language_and_time_zone_apply_to_every_page(server: Server) -> None:
    headers = await session_of(server, "sales")
    token = await csrf_of(server, headers)
    saved = await server.http.post(
        "/admin/settings", data={"csrf": token, "locale": "fr", "timezone": "Europe/Paris"}, headers=headers
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/admin/settings?saved=1")
    # The user's choice wins over the browser's.
    page = await server.http.get("/admin/settings?saved=1", headers={**headers, "accept-language": "en"})
    assert '<html lang="fr">' in page.text and "Enregistré." in page.text and "Se déconnecter" in page.text
    assert "<option selected>Europe/Paris</option>" in page.text


async def test_a_setting_out_of_the_lists_is_refused_with_the_input_kept(server: Server) -> None:
    headers = await session_of(server, "marketing")
    token = await csrf_of(server, headers)
    refused = await server.http.post(
        "/admin/settings", data={"csrf": token, "locale": "fr", "timezone": "Mars/Olympus"}, headers=headers
    )
    assert refused.status_code == 400
    assert 'id="timezone-error"' in refused.text and 'aria-invalid="true"' in refused.text
    assert '<option value="fr" lang="fr" selected>' in refused.text  # what they chose is kept
    page = await server.http.get("/admin/settings", headers={**headers, "accept-language": "en"})
    assert '<html lang="en">' in page.text  # nothing was saved


async def test_settings_need_the_csrf_token(server: Server) -> None:
    headers = await session_of(server, "admin")
    refused = await server.http.post("/admin/settings", data={"locale": "fr"}, headers=headers)
    assert refused.status_code == 403
