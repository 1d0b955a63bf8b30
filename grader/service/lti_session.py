"""Sessions of LTI launches, as the pages use them (the contract lti-core implements).

Until the launch protocol is merged this module holds only the contract: no launch creates a
session yet, so every page answers 401; tests override `current_session`.
"""

from __future__ import annotations

import hmac
import urllib.parse

from fastapi import HTTPException, Request

from grader.service.lti_launch import Session


def current_session(request: Request) -> Session:
    """The session of the browser asking; 401 without a valid one."""
    raise HTTPException(401, "open this page from your course (no LTI session)")


def session_url(session: Session, path: str) -> str:
    """`path` on this service, carrying the session."""
    separator = "&" if "?" in path else "?"
    return f"{path}{separator}{urllib.parse.urlencode({'session': session.id})}"


def check_csrf(session: Session, form_token: str | None) -> None:
    """403 unless the form carried the session's CSRF token."""
    if not form_token or not hmac.compare_digest(form_token.encode(), session.csrf_token.encode()):
        raise HTTPException(403, "the form is stale or was not sent from this page; reload the page")
