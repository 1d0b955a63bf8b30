"""Sessions of LTI launches: what a browser holds after a verified launch, and how pages find it.

A verified launch opens one session. Its id reaches the browser only in cookies (HttpOnly;
Secure; SameSite=None so they are sent inside the LMS's iframe; Partitioned (CHIPS) so browsers
that block third-party cookies keep them in a jar of that LMS's own): `grader_session_<handle>`
for this launch and `grader_session` for the browser's latest. The id never appears in a URL,
where it would leak through history, logs and Referer. The URLs of our pages carry the launch's
`handle` instead (`?s=`, a hash prefix of the id that opens nothing by itself): a browser with
two courses open in two tabs has two sessions, and each tab's links keep their own. A browser
that stores no cookie in the iframe cannot launch at all (the OIDC `state` needs one too); it is
told to open the tool in its own window, where cookies are first-party. Every page link, form
action and redirect goes through `session_url`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import html
import secrets

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from grader.service.lti_launch import DEEP_LINKING_REQUEST, RESOURCE_LINK_REQUEST, Launch, Session
from grader.service.store import Store

SESSION_COOKIE = "grader_session"
"""The cookie of the browser's latest session; `grader_session_<handle>` holds each launch's own."""
HANDLE_PARAMETER = "s"
"""The query parameter of our pages' URLs that names the launch's session (by handle, not by id)."""
SESSION_SECONDS = 8 * 3600
"""A working day in the LMS; after that the student opens the assignment again, which is one click."""
CSRF_FIELD = "csrf_token"
"""The form field every POST form carries the session's CSRF token in."""

_PAGE_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


class LtiRefused(Exception):
    """A launch, login or page request we refuse; the message is shown to the user as it is."""

    def __init__(self, status: int, title: str, message: str, *, new_window: tuple[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.new_window = new_window
        """A way on: (our URL, link text) that opens in a new window."""


def html_page(title: str, body: str) -> str:
    """A small, self-contained HTML page; `body` is HTML that the caller escaped."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>\n<body><main>\n<h1>{html.escape(title)}</h1>\n{body}\n</main></body></html>\n"
    )


def page_response(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    """An HTML page as the LTI routes answer: never cached, never sending a Referer onward."""
    return HTMLResponse(html_page(title, body), status_code=status, headers=_PAGE_HEADERS)


def refusal_response(error: LtiRefused) -> HTMLResponse:
    """The page of a refusal: its status, title and message, nothing more."""
    body = f"<p>{html.escape(error.message)}</p>"
    if error.new_window is not None:
        url, text = error.new_window
        body += f'<p><a href="{html.escape(url)}" target="_blank" rel="noopener">{html.escape(text)}</a></p>'
    return page_response(error.title, body, status=error.status)


def open_session(store: Store, launch: Launch, now: float, *, ends_by: float | None = None) -> Session:
    """Store a new session for a verified launch; the returned id is known only to the caller.

    `ends_by` caps its life: a session handed to a new window ends when the one that opened it does.
    """
    expires_at = now + SESSION_SECONDS if ends_by is None else min(now + SESSION_SECONDS, ends_by)
    session = Session(
        id=secrets.token_urlsafe(32), launch=launch, csrf_token=secrets.token_urlsafe(32), expires_at=expires_at,
    )
    launch_data = dataclasses.asdict(launch) | {"roles": sorted(launch.roles)}
    store.open_lti_session(
        id_sha256=_digest(session.id), launch=launch_data, csrf_token=session.csrf_token, now=now,
        expires_at=session.expires_at,
    )
    return session


def find_session(store: Store, session_id: str, now: float) -> Session | None:
    """The unexpired session with this id, or None."""
    row = store.lti_session(_digest(session_id), now)
    if row is None:
        return None
    launch = Launch(**(row["launch"] | {"roles": frozenset(row["launch"]["roles"])}))
    return Session(id=session_id, launch=launch, csrf_token=row["csrf_token"], expires_at=row["expires_at"])


def current_session(request: Request) -> Session:
    """FastAPI dependency of the pages: the session of a resource-link launch, or a 401 page."""
    return _session_of(request, RESOURCE_LINK_REQUEST)


def deep_linking_session(request: Request) -> Session:
    """FastAPI dependency of the deep-linking page: the session of a deep-linking launch, or a 401 page."""
    return _session_of(request, DEEP_LINKING_REQUEST)


def session_url(session: Session, path: str) -> str:
    """The URL of one of our pages (`/lti/...`, with or without a query) that keeps `session`."""
    if not path.startswith("/lti/"):
        raise ValueError(f"{path!r} is not one of the tool's pages")
    separator = "&" if "?" in path else "?"
    return f"{path}{separator}{HANDLE_PARAMETER}={session_handle(session.id)}"


def session_handle(session_id: str) -> str:
    """The name of a session in URLs and cookie names: it tells which session, and opens none."""
    return _digest(session_id)[:16]


def set_session_cookie(response: Response, session: Session, now: float) -> None:
    """Give the browser the session id: sent in the LMS's iframe, kept where third-party cookies are blocked."""
    max_age = int(session.expires_at - now)
    set_cookie(response, f"{SESSION_COOKIE}_{session_handle(session.id)}", session.id, max_age=max_age)
    set_cookie(response, SESSION_COOKIE, session.id, max_age=max_age)


def set_cookie(response: Response, name: str, value: str, *, max_age: int) -> None:
    """A cookie of the tool's pages: HttpOnly; Secure; SameSite=None (sent inside the LMS's iframe); Partitioned.

    Written by hand because http.cookies learns `Partitioned` only in Python 3.14. `name` and
    `value` are ours (URL-safe tokens and hex digests); max_age 0 deletes the cookie.
    """
    response.headers.append(
        "set-cookie", f"{name}={value}; Max-Age={max_age}; Path=/lti/; HttpOnly; Secure; SameSite=None; Partitioned"
    )


def check_csrf(session: Session, form_token: str | None) -> None:
    """Refuse (403) a POST whose form does not carry the session's CSRF token; compared in constant time."""
    if form_token is None or not hmac.compare_digest(form_token.encode(), session.csrf_token.encode()):
        raise LtiRefused(403, "Form expired", "This form is no longer valid. Open the assignment from your course again.")


def _session_of(request: Request, message_type: str) -> Session:
    runtime = request.app.state.lti_runtime
    handle = request.query_params.get(HANDLE_PARAMETER)
    session_id = request.cookies.get(f"{SESSION_COOKIE}_{handle}" if handle else SESSION_COOKIE)
    if session_id and handle and session_handle(session_id) != handle:
        session_id = None
    session = find_session(runtime.store, session_id, runtime.clock()) if session_id else None
    if session is None or session.launch.message_type != message_type:
        raise LtiRefused(
            401, "Session ended", "Your session has ended or was not found. Open the assignment from your course again."
        )
    return session


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
