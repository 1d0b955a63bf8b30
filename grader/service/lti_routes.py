"""The LTI 1.3 launch endpoints: login initiation, launch, our JWKS and deep linking.

`add_launch_routes` registers them on the service's app. The flow (LTI 1.3 core §5.1.1):
the platform sends the browser to /lti/login; we remember a nonce bound to a fresh `state`,
whose hash the browser keeps in a short-lived cookie, and send it to the platform's
authorization endpoint; the platform posts a signed id_token and the state back to
/lti/launch; we verify both, burn the nonce, open a session and send the browser on to its page.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
import secrets
import urllib.parse

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from grader.assignment import load_assignment
from grader.service import lti_deep_linking, lti_registration
from grader.service.lti_keys import published_jwks, signing_key
from grader.service.lti_launch import DEEP_LINKING_REQUEST, Launch, Session
from grader.service.lti_session import (
    CSRF_FIELD,
    LtiRefused,
    check_csrf,
    deep_linking_session,
    open_session,
    page_response,
    refusal_response,
    session_url,
    set_cookie,
    set_session_cookie,
)
from grader.service.lti_verify import PlatformKeys, find_registration, launch_from_claims, registrations, verify_id_token
from grader.service.runtime import Runtime
from grader.service.settings import LtiRegistrationInvite

log = logging.getLogger(__name__)

LOGIN_SECONDS = 600
"""How long a login may take at the platform before its launch is refused."""
MAX_PENDING_LOGINS = 200_000
"""Logins started and not yet launched or expired, at most (about 30 MB). Anyone can start one, so
the table is bounded; the bound is high enough that keeping it full takes a flood of over 300
requests a second, which would load the service anyway, and no per-address limit refuses a
class behind one NAT opening the assignment together."""
_STATE_COOKIE = "grader_state_"
_MAX_FORM_BYTES = 64 * 1024
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


def add_launch_routes(app: FastAPI, runtime: Runtime) -> None:
    """Register /lti/login, /lti/launch, /lti/jwks.json and /lti/deep-link on `app`."""
    settings = runtime.settings
    found = registrations(settings)
    keys = PlatformKeys(lambda: runtime.http, runtime.clock, settings.lti_jwks_refetch_seconds)
    platforms = {name: c.lti for name, c in settings.clients.items() if c.lti is not None}
    invites = {name: c.lti_registration for name, c in settings.clients.items() if c.lti_registration is not None}
    jwks = published_jwks([*platforms.values(), *invites.values()])
    app.state.lti_runtime = runtime

    async def refused(_: Request, error: Exception) -> HTMLResponse:
        assert isinstance(error, LtiRefused)
        return refusal_response(error)

    app.add_exception_handler(LtiRefused, refused)

    @app.get("/lti/jwks.json", tags=["lti"])
    async def lti_jwks() -> JSONResponse:
        """Our tool's public keys (the private halves never leave the server)."""
        return JSONResponse(jwks, headers={"cache-control": "max-age=300"})

    @app.api_route("/lti/login", methods=["GET", "POST"], tags=["lti"], response_class=HTMLResponse)
    async def lti_login(request: Request) -> Response:
        """OIDC third-party login initiation: on to the platform's authorization endpoint."""
        params = dict(await _small_form(request)) if request.method == "POST" else dict(request.query_params)
        fields = {name: value for name, value in params.items() if isinstance(value, str)}
        if not all(fields.get(name) for name in ("iss", "login_hint", "target_link_uri")):
            raise LtiRefused(400, "Login refused", "The login request lacks iss, login_hint or target_link_uri.")
        registration = find_registration(found, fields["iss"], fields.get("client_id") or None)
        deployment = fields.get("lti_deployment_id")
        if deployment and deployment not in registration.deployment_ids:
            raise LtiRefused(400, "Login refused", "The tool is not registered for this deployment of the platform.")
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        state_sha256 = _sha256(state)
        now = runtime.clock()
        stored = await run_in_threadpool(
            runtime.store.start_lti_login, nonce=nonce, state_sha256=state_sha256, client=registration.client,
            login_query=urllib.parse.urlencode(fields), expires_at=now + LOGIN_SECONDS, now=now,
            limit=MAX_PENDING_LOGINS,
        )
        if not stored:
            raise LtiRefused(503, "Busy", "Too many people are opening the assignment right now; try again in a minute.")
        query = {
            "scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
            "client_id": registration.client_id, "redirect_uri": _launch_url(request), "login_hint": fields["login_hint"],
            "state": state, "nonce": nonce,
        }
        if fields.get("lti_message_hint"):
            query["lti_message_hint"] = fields["lti_message_hint"]
        separator = "&" if "?" in registration.auth_login_url else "?"
        response = RedirectResponse(registration.auth_login_url + separator + urllib.parse.urlencode(query), 302)
        # Only this browser can finish the login: the launch must bring the cookie back with the state.
        set_cookie(response, _STATE_COOKIE + state_sha256[:16], state_sha256, max_age=LOGIN_SECONDS)
        response.headers["referrer-policy"] = "no-referrer"
        return response

    @app.post("/lti/launch", tags=["lti"], response_class=HTMLResponse)
    async def lti_launch(request: Request) -> Response:
        """The platform's form post of the id_token: verify it, open a session, on to the user's page."""
        try:
            response = await _launch(request)
        except LtiRefused as refused:
            runtime.metrics.inc("grader_lti_launches_total", outcome=str(refused.status))
            raise
        runtime.metrics.inc("grader_lti_launches_total", outcome="opened")
        return response

    async def _launch(request: Request) -> Response:
        form = await _small_form(request)
        if isinstance(form.get("error"), str):
            code = str(form["error"])
            shown = code if _ERROR_CODE.fullmatch(code) else "unknown"
            raise LtiRefused(400, "Login not completed", f"The platform did not complete the login ({shown}).")
        id_token, state = form.get("id_token"), form.get("state")
        if not isinstance(id_token, str) or not isinstance(state, str) or not id_token or not state:
            raise LtiRefused(400, "Launch refused", "The launch lacks its id_token or state.")
        state_sha256 = _sha256(state)
        registration, claims = await run_in_threadpool(verify_id_token, id_token, found, keys)
        now = runtime.clock()
        cookie = request.cookies.get(_STATE_COOKIE + state_sha256[:16], "")
        if not hmac.compare_digest(cookie.encode(), state_sha256.encode()):
            raise await _without_state_cookie(str(claims["nonce"]), state_sha256, registration.client, now)
        login = await run_in_threadpool(runtime.store.finish_lti_login, str(claims["nonce"]), now)
        if login is None:
            raise LtiRefused(401, "Launch refused", "This launch was not started here or has expired (nonce).")
        if login["used"]:
            raise LtiRefused(401, "Launch refused", "This launch was already used (nonce).")
        if login["state_sha256"] != state_sha256 or login["client"] != registration.client:
            raise LtiRefused(401, "Launch refused", "The launch does not belong to the login this browser started (state).")
        launch = launch_from_claims(registration, claims)
        if launch.message_type == DEEP_LINKING_REQUEST and not launch.staff:
            raise LtiRefused(403, "Not allowed", "Only instructors can add this assignment to a course.")
        session = await run_in_threadpool(open_session, runtime.store, launch, now)
        response = RedirectResponse(session_url(session, _first_page(launch)), 303)
        set_session_cookie(response, session, now)
        set_cookie(response, _STATE_COOKIE + state_sha256[:16], "", max_age=0)
        response.headers["referrer-policy"] = "no-referrer"
        return response

    async def _without_state_cookie(nonce: str, state_sha256: str, client: str, now: float) -> LtiRefused:
        """The refusal of a launch whose browser did not bring the state cookie back.

        Most often the browser keeps no cookies in the LMS's iframe. When the launch answers a login
        we started, its page links to that login again in a new window, where our cookies are
        first-party (the LTI guidance for blocked third-party cookies); the platform checks there
        that its signed-in user is the login_hint's.
        """
        message = (
            "The launch did not start in this browser (state). If your browser blocks cookies in embedded pages,"
            " open the assignment in a new window."
        )
        login = await run_in_threadpool(runtime.store.lti_login, nonce, now)
        if login is None or login["used"] or login["state_sha256"] != state_sha256 or login["client"] != client:
            return LtiRefused(401, "Launch refused", message)
        return LtiRefused(401, "Launch refused", message,
                          new_window=(f"/lti/login?{login['login_query']}", "Open the assignment in a new window"))

    @app.get("/lti/register/{token}", tags=["lti"], response_class=HTMLResponse)
    async def lti_register(
        request: Request, token: str, openid_configuration: str = "", registration_token: str = ""
    ) -> HTMLResponse:
        """LTI Dynamic Registration, started by the platform of the client the token invites."""
        client = _invited(invites, token)
        if client is None or not openid_configuration:
            raise LtiRefused(404, "Not found", "This registration link is not valid. Ask the grader's operator for one.")
        registered = await run_in_threadpool(
            lti_registration.register, runtime.http, invites[client], configuration_url=openid_configuration,
            registration_token=registration_token or None, tool_url=_tool_url(request),
            title=f"Grader: {load_assignment().title}",
        )
        block = lti_registration.settings_block(client, registered, invites[client])
        log.warning("LTI platform %s registered the tool for client %s; add to the settings:\n%s",
                    registered.platform.issuer, client, block)
        body = (
            f"<p>{html.escape(registered.platform.issuer)} registered the tool. The grader's operator adds this to"
            " its settings and restarts it; until then launches are refused.</p>"
            f"<pre>{html.escape(block)}</pre>"
            '<button type="button" id="done">Done</button>'
            '<script>document.getElementById("done").onclick = function () {'
            ' (window.opener || window.parent).postMessage({subject: "org.imsglobal.lti.close"}, "*"); };</script>'
        )
        return page_response("Tool registered", body)

    @app.get("/lti/deep-link", tags=["lti"], response_class=HTMLResponse)
    async def lti_deep_link_page(session: Session = Depends(deep_linking_session)) -> HTMLResponse:
        """The instructor's choice: one button that adds the assignment to the course."""
        assignment = load_assignment()
        body = (
            f"<p>Add <strong>{html.escape(assignment.title)}</strong> (out of {assignment.max_score:g} points)"
            f" to {html.escape(session.launch.context_title or 'this course')}.</p>"
            f'<form method="post" action="{html.escape(session_url(session, "/lti/deep-link"))}">'
            f'<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(session.csrf_token)}">'
            '<button type="submit">Add this assignment</button></form>'
        )
        return page_response("Add the assignment", body)

    @app.post("/lti/deep-link", tags=["lti"], response_class=HTMLResponse)
    async def lti_deep_link(request: Request, session: Session = Depends(deep_linking_session)) -> HTMLResponse:
        """Post the signed deep-linking response back to the platform (an auto-submitting form)."""
        form = await _small_form(request)
        token = form.get(CSRF_FIELD)
        check_csrf(session, token if isinstance(token, str) else None)
        launch = session.launch
        platform = platforms[launch.client]
        assignment = load_assignment()
        item = lti_deep_linking.content_item(
            assignment=assignment.name, title=assignment.title, max_score=assignment.max_score
        )
        signed = lti_deep_linking.response_jwt(
            launch, client_id=platform.client_id, key=signing_key(platform), items=[item], now=runtime.clock()
        )
        return page_response("Returning to your course", lti_deep_linking.return_form(launch.deep_link_return_url or "", signed))


async def _small_form(request: Request) -> FormData:
    """The form of a login or launch post, which is a few kB: a larger or unannounced body is refused unread."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > _MAX_FORM_BYTES:
        raise LtiRefused(413, "Request refused", "The request is too large, or does not announce its length.")
    return await request.form()


def _invited(invites: dict[str, LtiRegistrationInvite], token: str) -> str | None:
    """The client whose registration token this is; every token is compared, in constant time."""
    found = None
    for client, invite in invites.items():
        if hmac.compare_digest(token.encode(), invite.token.get_secret_value().encode()):
            found = client
    return found


def _first_page(launch: Launch) -> str:
    if launch.message_type == DEEP_LINKING_REQUEST:
        return "/lti/deep-link"
    return "/lti/class" if launch.staff else "/lti/hand-in"


def _launch_url(request: Request) -> str:
    return _tool_url(request) + "/lti/launch"


def _tool_url(request: Request) -> str:
    """Our address as browsers reach it: `public_url`, else the request's."""
    public_url = request.app.state.lti_runtime.settings.public_url
    return (public_url or str(request.base_url)).rstrip("/")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
