"""A stand-in LTI 1.3 platform (LMS) on 127.0.0.1, and a browser that walks the launch through it.

The platform has its own RSA keys and JWKS (with rotation), an OIDC authorization endpoint that
checks what a real one checks (client id, redirect URI, login hint, nonce and state present)
and answers with an auto-submitting form post of a signed id_token, a token endpoint that
verifies our client assertion against the tool's /lti/jwks.json, AGS line-item and score
endpoints that check bearer token, scope, content type and body, and a deep-linking return
endpoint that verifies our response JWT and creates the line item it asks for.
`errors` lists everything it found wrong in what the tool sent.
"""

from __future__ import annotations

import collections
import dataclasses
import html
import json
import re
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.service.lms_standin import ASSERTION_TYPE, SCORE_SCOPE, strict_loads

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DL_SETTINGS_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
ROLES = {"student": LIS + "Learner", "instructor": LIS + "Instructor"}
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
DEPLOYMENT_ID = "deployment-1"


@dataclasses.dataclass
class PendingLaunch:
    """What the platform launches when the browser comes back with this message hint."""

    user: str
    role: str
    resource_link: str
    message_type: str
    context: str
    lineitem: str | None


@dataclasses.dataclass
class PlatformKey:
    kid: str
    private: rsa.RSAPrivateKey

    @property
    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return jwk | {"kid": self.kid, "alg": "RS256", "use": "sig"}


def new_key(kid: str | None = None) -> PlatformKey:
    return PlatformKey(kid or f"platform-{uuid.uuid4().hex[:8]}", rsa.generate_private_key(public_exponent=65537, key_size=2048))


class StandInPlatform:
    """One LTI platform; the tool's registration there is `client_id` with one deployment."""

    def __init__(self, *, client_id: str, deployment_id: str = DEPLOYMENT_ID) -> None:
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.tool_url = ""
        """The tool's base URL (set once the service runs): its launch URL and JWKS are under it."""
        self.keys = [new_key()]
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self.jwks_requests = 0
        self.jwks_down = False
        """Answer 503 to JWKS requests, as a platform in an outage."""
        self.pending: dict[str, PendingLaunch] = {}
        self.lineitems: dict[str, dict[str, Any]] = {}
        self.scores: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self.deep_link_responses: list[dict[str, Any]] = []
        self.registration_token = f"reg_{uuid.uuid4().hex}"
        self.configuration_changes: dict[str, Any] = {}
        """Replaces members of the OpenID configuration the platform serves (for dynamic registration tests)."""
        self.registrations: list[dict[str, Any]] = []
        self._tokens: dict[str, tuple[float, str]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.platform = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # Addresses and registration --------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def issuer(self) -> str:
        return self.url

    def registration(self, private_key_file: str, **extra: Any) -> dict[str, Any]:
        """The `lti` block of the client this platform belongs to, in the service's settings."""
        return {
            "client_id": self.client_id, "token_url": f"{self.url}/token", "private_key_file": private_key_file,
            "origins": [self.url], "issuer": self.issuer, "deployment_ids": [self.deployment_id],
            "auth_login_url": f"{self.url}/auth", "jwks_url": f"{self.url}/jwks",
        } | extra

    def start(self) -> StandInPlatform:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    # What tests do -----------------------------------------------------------------------------

    def rotate(self) -> PlatformKey:
        """Sign with a new key from now on; the JWKS publishes old and new."""
        key = new_key()
        with self.lock:
            self.keys.append(key)
        return key

    def add_lineitem(self, *, score_maximum: float = 80.0, label: str = "Regularization") -> str:
        """A gradebook column, as an instructor would make one; its URL."""
        item_id = uuid.uuid4().hex[:8]
        with self.lock:
            self.lineitems[item_id] = {"scoreMaximum": score_maximum, "label": label}
        return f"{self.url}/lineitems/{item_id}"

    def launch_url(
        self, user: str, role: str = "student", resource_link: str = "link-1", *,
        message_type: str = "LtiResourceLinkRequest", context: str = "course-1", lineitem: str | None = None,
    ) -> str:
        """The tool's login initiation URL the platform sends a browser to when `user` opens the link."""
        hint = uuid.uuid4().hex
        with self.lock:
            self.pending[hint] = PendingLaunch(user, ROLES.get(role, role), resource_link, message_type, context, lineitem)
        query = {
            "iss": self.issuer, "login_hint": user, "target_link_uri": f"{self.tool_url}/lti/launch",
            "lti_message_hint": hint, "client_id": self.client_id, "lti_deployment_id": self.deployment_id,
        }
        return f"{self.tool_url}/lti/login?{urllib.parse.urlencode(query)}"

    def registration_url(self, tool_registration_url: str) -> str:
        """Where the platform sends its admin's browser to register the tool dynamically (LTI-DR §3.3)."""
        query = {"openid_configuration": f"{self.url}/.well-known/openid-configuration",
                 "registration_token": self.registration_token}
        return f"{tool_registration_url}?{urllib.parse.urlencode(query)}"

    def on_openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer, "authorization_endpoint": f"{self.url}/auth", "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks", "registration_endpoint": f"{self.url}/register",
            "scopes_supported": ["openid", SCORE_SCOPE, LINEITEM_SCOPE], "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"], "claims_supported": ["iss", "sub", "name"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "stand-in", "version": "1",
                "messages_supported": [{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}],
            },
        } | self.configuration_changes

    def on_register(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """The registration endpoint: checks the tool's configuration as a platform would, issues a client id."""
        problems = []
        if headers.get("authorization") != f"Bearer {self.registration_token}":
            problems.append("registration token")
        if headers.get("content-type") != "application/json":
            problems.append("content type")
        try:
            request = strict_loads(body)
        except ValueError:
            request = {}
        tool = self.tool_url
        expected = {"application_type": "web", "response_types": ["id_token"], "initiate_login_uri": f"{tool}/lti/login",
                    "redirect_uris": [f"{tool}/lti/launch"], "jwks_uri": f"{tool}/lti/jwks.json",
                    "token_endpoint_auth_method": "private_key_jwt"}
        problems += [name for name, value in expected.items() if request.get(name) != value]
        if not {"implicit", "client_credentials"} <= set(request.get("grant_types", [])):
            problems.append("grant_types")
        if SCORE_SCOPE not in str(request.get("scope", "")).split():
            problems.append("scope")
        configuration = request.get("https://purl.imsglobal.org/spec/lti-tool-configuration", {})
        if {m.get("type") for m in configuration.get("messages", [])} != {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}:
            problems.append("messages")
        if problems:
            self.error(f"registration refused: {problems}")
            return 400, {"error": "invalid_client_metadata"}
        client_id = f"dr-{uuid.uuid4().hex[:8]}"
        with self.lock:
            self.registrations.append(request | {"client_id": client_id})
        configuration = configuration | {"deployment_id": "deployment-dr"}
        return 200, request | {"client_id": client_id, "https://purl.imsglobal.org/spec/lti-tool-configuration": configuration}

    def course_page_url(self, launch_url: str) -> str:
        """A page of the platform that shows the tool in an iframe, as an LMS does (for browser tests)."""
        return f"{self.url}/course?{urllib.parse.urlencode({'launch': launch_url})}"

    def claims(self, pending: PendingLaunch, nonce: str, /, **changes: Any) -> dict[str, Any]:
        """The id_token claims of a launch; `changes` replace or (with value None) drop claims."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.client_id, "sub": pending.user, "iat": now, "exp": now + 300,
            "nonce": nonce, "name": f"User {pending.user}",
            CLAIM + "message_type": pending.message_type, CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": self.deployment_id, CLAIM + "roles": [pending.role],
            CLAIM + "context": {"id": pending.context, "title": f"Course {pending.context}"},
            CLAIM + "target_link_uri": f"{self.tool_url}/lti/launch",
        }
        if pending.message_type == "LtiResourceLinkRequest":
            claims[CLAIM + "resource_link"] = {"id": pending.resource_link, "title": "Regularization"}
            if pending.lineitem:
                claims[AGS_CLAIM] = {"scope": [SCORE_SCOPE, LINEITEM_SCOPE], "lineitem": pending.lineitem,
                                     "lineitems": f"{self.url}/lineitems"}
        else:
            claims[DL_SETTINGS_CLAIM] = {
                "deep_link_return_url": f"{self.url}/deep-link-return", "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"], "data": f"dl-{pending.context}",
            }
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def sign(self, claims: dict[str, Any], *, key: PlatformKey | None = None, kid: str | None = None) -> str:
        """An id_token signed with `key` (default: the current one), naming `kid` (default: the key's)."""
        key = key or self.keys[-1]
        return jwt.encode(claims, key.pem, algorithm="RS256", headers={"kid": kid or key.kid})

    def id_token(self, hint: str, nonce: str, /, **changes: Any) -> str:
        """The id_token the platform answers an authorization request of pending launch `hint` with."""
        with self.lock:
            pending = self.pending[hint]
        return self.sign(self.claims(pending, nonce, **changes))

    # Handlers, called from the server's threads -------------------------------------------------

    def on_jwks(self) -> dict[str, Any]:
        with self.lock:
            self.jwks_requests += 1
            return {"keys": [key.public_jwk for key in self.keys]}

    def on_auth(self, query: dict[str, str]) -> tuple[int, str]:
        """The OIDC authorization endpoint: a form post of the id_token to the tool's redirect URI."""
        expected = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
                    "client_id": self.client_id, "redirect_uri": f"{self.tool_url}/lti/launch"}
        problems = [name for name, value in expected.items() if query.get(name) != value]
        problems += [name for name in ("state", "nonce") if len(query.get(name, "")) < 16]
        with self.lock:
            pending = self.pending.get(query.get("lti_message_hint", ""))
        if pending is None or query.get("login_hint") != pending.user:
            problems.append("login_hint/lti_message_hint")
        if problems:
            self.error(f"authorization request refused: {problems}")
            return 400, "invalid_request"
        token = self.id_token(query["lti_message_hint"], query["nonce"])
        return 200, auto_post(query["redirect_uri"], {"id_token": token, "state": query["state"]})

    def on_token(self, body: bytes) -> tuple[int, dict[str, Any]]:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        problems = []
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != ASSERTION_TYPE:
            problems.append("grant_type/client_assertion_type")
        try:
            self._verify_tool_jwt(form.get("client_assertion", ""), audience=f"{self.url}/token")
        except (jwt.PyJWTError, httpx.HTTPError) as error:
            problems.append(f"assertion: {error}")
        if problems:
            self.error(f"token request refused: {problems}")
            return 400, {"error": "invalid_client"}
        token = f"tok_{uuid.uuid4().hex}"
        with self.lock:
            self._tokens[token] = (time.time() + 3600, form.get("scope", ""))
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": form.get("scope", "")}

    def on_score(self, item_id: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            known = item_id in self.lineitems
            expires, scope = self._tokens.get(headers.get("authorization", "").removeprefix("Bearer "), (0.0, ""))
        if not known:
            self.error(f"score for unknown line item {item_id}")
            return 404
        if expires < time.time() or SCORE_SCOPE not in scope.split():
            self.error("score with an unknown or expired token, or without the score scope")
            return 401
        if headers.get("content-type") != "application/vnd.ims.lis.v1.score+json":
            self.error(f"score with content type {headers.get('content-type')}")
            return 415
        try:
            score = strict_loads(body)
        except ValueError as error:
            self.error(f"score is not strict JSON: {error}")
            return 400
        missing = [f for f in ("userId", "activityProgress", "gradingProgress", "timestamp") if f not in score]
        if missing:
            self.error(f"score lacks {missing}")
            return 400
        with self.lock:
            self.scores[item_id].append(score)
        return 200

    def on_deep_link_return(self, body: bytes) -> tuple[int, str]:
        """Verify the tool's deep-linking response and create the line items it asks for."""
        form = dict(urllib.parse.parse_qsl(body.decode()))
        try:
            claims = self._verify_tool_jwt(form.get("JWT", ""), audience=self.issuer)
        except (jwt.PyJWTError, httpx.HTTPError) as error:
            self.error(f"deep-linking response refused: {error}")
            return 400, "invalid deep-linking response"
        problems = []
        if claims.get(CLAIM + "message_type") != "LtiDeepLinkingResponse" or claims.get(CLAIM + "version") != "1.3.0":
            problems.append("message_type/version")
        if claims.get(CLAIM + "deployment_id") != self.deployment_id:
            problems.append("deployment_id")
        if not str(claims.get(DL_CLAIM + "data", "")).startswith("dl-"):
            problems.append("data not echoed")
        items = claims.get(DL_CLAIM + "content_items")
        if not isinstance(items, list) or not items:
            problems.append("content_items")
        if problems:
            self.error(f"deep-linking response refused: {problems}")
            return 400, "invalid deep-linking response"
        with self.lock:
            self.deep_link_responses.append(claims)
        for item in items:
            if item.get("type") == "ltiResourceLink" and "lineItem" in item:
                self.add_lineitem(score_maximum=item["lineItem"]["scoreMaximum"], label=item["lineItem"]["label"])
        return 200, "<p>Added.</p>"

    def _verify_tool_jwt(self, token: str, *, audience: str) -> dict[str, Any]:
        """A JWT the tool signed, checked against the tool's published JWKS as a platform does."""
        jwks = httpx.get(f"{self.tool_url}/lti/jwks.json", timeout=10).json()
        kid = jwt.get_unverified_header(token).get("kid")
        keys = [jwt.PyJWK(k) for k in jwks["keys"] if k.get("kid") == kid]
        if not keys:
            raise jwt.InvalidKeyError(f"no key {kid!r} in the tool's JWKS")
        return jwt.decode(token, keys[0], algorithms=["RS256"], audience=audience, issuer=self.client_id,
                          options={"require": ["exp", "iat", "iss", "aud"]})


def auto_post(action: str, fields: dict[str, str]) -> str:
    """An HTML page that posts `fields` to `action` as soon as it loads (OIDC form_post)."""
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items())
    return (f'<!doctype html><html><body><form method="post" action="{html.escape(action)}">{inputs}'
            '<button type="submit">Continue</button></form><script>document.forms[0].submit()</script></body></html>')


def form_fields(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the first form of an HTML page (what a browser would post)."""
    action = html.unescape(re.search(r'<form method="post" action="([^"]*)"', page).group(1))
    fields = {html.unescape(n): html.unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page)}
    return action, fields


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        platform: StandInPlatform = self.server.platform  # type: ignore[attr-defined]
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        if parts.path == "/jwks":
            jwks = platform.on_jwks()
            self._answer(503 if platform.jwks_down else 200, json.dumps(jwks).encode(), "application/json")
        elif parts.path == "/auth":
            status, page = platform.on_auth(query)
            self._answer(status, page.encode(), "text/html; charset=utf-8")
        elif parts.path == "/.well-known/openid-configuration":
            self._answer(200, json.dumps(platform.on_openid_configuration()).encode(), "application/json")
        elif parts.path == "/course":
            page = (f'<!doctype html><html><body><h1>Course</h1><iframe title="Assignment" width="900" height="700"'
                    f' src="{html.escape(query.get("launch", ""))}"></iframe></body></html>')
            self._answer(200, page.encode(), "text/html; charset=utf-8")
        elif parts.path.startswith("/lineitems/"):
            with platform.lock:
                item = platform.lineitems.get(parts.path.rsplit("/", 1)[1])
            self._answer(200 if item else 404, json.dumps(item or {}).encode(), "application/vnd.ims.lis.v2.lineitem+json")
        else:
            self._answer(404, b"", "text/plain")

    def do_POST(self) -> None:
        platform: StandInPlatform = self.server.platform  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {key.lower(): value for key, value in self.headers.items()}
        path = urllib.parse.urlsplit(self.path).path
        if path == "/token":
            status, payload = platform.on_token(body)
            self._answer(status, json.dumps(payload).encode(), "application/json")
        elif re.fullmatch(r"/lineitems/[0-9a-f]+/scores", path):
            self._answer(platform.on_score(path.split("/")[2], headers, body), b"", "text/plain")
        elif path == "/register":
            status, payload = platform.on_register(headers, body)
            self._answer(status, json.dumps(payload).encode(), "application/json")
        elif path == "/deep-link-return":
            status, page = platform.on_deep_link_return(body)
            self._answer(status, page.encode(), "text/html; charset=utf-8")
        else:
            self._answer(404, b"", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on recorded state instead."""


class Browser:
    """What a browser does in a launch, over httpx: follows the platform's redirects and form posts
    and keeps the tool's cookies (all of them: Chromium keeps Secure cookies on http://127.0.0.1 too,
    which httpx's cookie jar would not send)."""

    def __init__(self) -> None:
        self.http = httpx.Client(timeout=30, follow_redirects=False)
        self.cookies: dict[str, str] = {}

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.cookies:
            headers["cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = self.http.request(method, url, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in header.lower() or not value or value == '""':
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def login(self, launch_url: str) -> dict[str, str]:
        """Start a launch at the tool: the authorization request's parameters it sends us to the platform with."""
        response = self.request("GET", launch_url)
        assert response.status_code == 302, response.text
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["location"]).query))

    def post_launch(self, redirect_uri: str, fields: dict[str, str]) -> httpx.Response:
        """The platform's form post to the tool, as the browser sends it."""
        return self.request("POST", redirect_uri, data=fields)

    def launch(self, launch_url: str) -> httpx.Response:
        """The whole launch: login initiation, the platform's authorization, the form post; the tool's answer."""
        response = self.request("GET", launch_url)
        assert response.status_code == 302, response.text
        authorization = self.request("GET", response.headers["location"])
        assert authorization.status_code == 200, authorization.text
        action, fields = form_fields(authorization.text)
        return self.post_launch(action, fields)
