"""The sandbox's WSGI application: AMAPI v1's URLs, the token endpoint and the signup page.

Routing is werkzeug's. For every request under ``/v1/``: the quota is counted first (a
sliding window: 429 RESOURCE_EXHAUSTED while ``quota`` requests were let through in the last
``quota_window`` seconds; a refused request does not count, and neither do the token endpoint
and the signup page), then ``Authorization: Bearer`` is checked (401 UNAUTHENTICATED), then an
enterprise whose access was revoked (``controls.enterprise_access``) is refused (403
PERMISSION_DENIED), then the method runs.
Errors are Google's ``{"error": {"code", "message", "status", "details"}}``.

``/token`` takes the JWT-bearer grant (``keys``); ``/signup/<id>`` is the stand-in for Google's
signup page; ``/oauth2/v1/certs`` serves the key's public half (``{kid: PEM}``), for issue 9's
push tokens.

Every request is remembered in ``Sandbox.log`` (time, method, path, query, status), in memory,
for tests that count what reached "Google".
"""

from __future__ import annotations

import collections
import html
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from mamori.android.sandbox import devices, keys, resources
from mamori.android.sandbox.controls import revoked_key
from mamori.android.sandbox.errors import ApiError, invalid, quota_exhausted, unauthenticated
from mamori.android.sandbox.resources import Call
from mamori.android.sandbox.store import Store

Handler = Callable[[Call], dict[str, Any]]
E = "/v1/enterprises/<enterprise>"
D = f"{E}/devices/<device>"

# (method, rule, handler): the discovery document's methods (ANDROID.md 2.1).
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "/v1/signupUrls", resources.signup_url_create),
    ("POST", "/v1/enterprises", resources.enterprise_create),
    ("GET", E, resources.enterprise_get),
    ("PATCH", E, resources.enterprise_patch),
    ("DELETE", E, resources.enterprise_delete),
    ("GET", f"{E}/policies", resources.policy_list),
    ("GET", f"{E}/policies/<policy>", resources.policy_get),
    ("PATCH", f"{E}/policies/<policy>", resources.policy_patch),
    ("DELETE", f"{E}/policies/<policy>", resources.policy_delete),
    ("POST", f"{E}/enrollmentTokens", resources.token_create),
    ("GET", f"{E}/enrollmentTokens", resources.token_list),
    ("GET", f"{E}/enrollmentTokens/<token>", resources.token_get),
    ("DELETE", f"{E}/enrollmentTokens/<token>", resources.token_delete),
    ("GET", f"{E}/devices", devices.device_list),
    ("GET", D, devices.device_get),
    ("PATCH", D, devices.device_patch),
    ("DELETE", D, devices.device_delete),
    ("POST", f"{D}:issueCommand", devices.command_issue),
    ("GET", f"{D}/operations", devices.operation_list),
    ("GET", f"{D}/operations/<operation>", devices.operation_get),
    ("POST", f"{D}/operations/<operation>:cancel", devices.operation_cancel),
)
HANDLERS = {f"{method} {rule}": handler for method, rule, handler in ROUTES}
URLS = Map(
    [Rule(rule, endpoint=f"{method} {rule}", methods=[method]) for method, rule, _ in ROUTES]
    + [
        Rule("/token", endpoint="token", methods=["POST"]),
        Rule("/signup/<signup>", endpoint="signup", methods=["GET", "POST"]),
        Rule("/oauth2/v1/certs", endpoint="certs", methods=["GET"]),
    ]
)


@dataclass(frozen=True)
class Seen:
    """One request the sandbox answered."""

    time: float
    method: str
    path: str
    query: str
    status: int


class Sandbox:
    """The WSGI application over one state file and one key file.

    ``log`` lists every request (``Seen``); ``quota_reset()`` forgets the quota window. Limits
    (quota, window, device cap) are read from the state file on each request, so a test or
    ``serve`` can change them while it runs (``Store.limits_set``).
    """

    def __init__(self, store: Store, key_file: Path) -> None:
        self.store = store
        self.key_file = key_file
        self.key = json.loads(key_file.read_text())
        self.certs = keys.public_pem(self.key)
        self.certificate = certificate_kept(store, self.key)
        self.log: list[Seen] = []
        self._accepted: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        response = self.answer(request)
        with self._lock:
            self.log.append(
                Seen(time.time(), request.method, request.path,
                     request.query_string.decode("latin-1"), response.status_code)
            )  # fmt: skip
        return response(environ, start_response)

    def quota_reset(self) -> None:
        """Forget the requests counted in the quota window, and the request log."""
        with self._lock:
            self._accepted.clear()
            self.log.clear()

    def answer(self, request: Request) -> Response:
        """The response to one request (never raises)."""
        adapter = URLS.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException:
            if request.path.startswith("/v1/"):
                return self.api_error(ApiError("NOT_FOUND", f"Method not found: {request.path}"))
            return Response("Not found", status=404, mimetype="text/plain")
        if endpoint == "token":
            return self.token(request)
        if endpoint == "signup":
            return self.signup(request, args["signup"])
        if endpoint == "certs":
            return json_response({self.key["private_key_id"]: self.certificate})
        try:
            self.quota_take()
            self.authenticate(request)
            if "enterprise" in args and self.store.config(revoked_key(args["enterprise"])):
                raise ApiError("PERMISSION_DENIED", "The caller does not have permission")
            call = Call(
                store=self.store,
                path=dict(args),
                query=request.args.to_dict(),
                multi=request.args.to_dict(flat=False),
                body=request_body(request),
                base_url=request.host_url,
            )
            return json_response(HANDLERS[endpoint](call))
        except ApiError as error:
            return self.api_error(error)

    def quota_take(self) -> None:
        """Count one API request; 429 past ``quota`` accepted requests in the sliding window."""
        limits = self.store.limits()
        quota, window = int(limits["quota"]), float(limits["quota_window"])
        now = time.monotonic()
        with self._lock:
            while self._accepted and self._accepted[0] <= now - window:
                self._accepted.popleft()
            if len(self._accepted) >= quota:
                raise quota_exhausted(quota, window, keys.PROJECT_ID)
            self._accepted.append(now)

    def authenticate(self, request: Request) -> None:
        """401 UNAUTHENTICATED unless the request carries a valid bearer token."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("CREDENTIALS_MISSING")
        reason = keys.bearer_check(
            token.strip(), self.store.config("token_secret"), self.key, self.certs
        )
        if reason:
            raise unauthenticated(reason)

    def api_error(self, error: ApiError) -> Response:
        """Google's error body with the status's HTTP code."""
        return json_response(error.body(), status=error.http_status)

    def token(self, request: Request) -> Response:
        """The OAuth 2 token endpoint: JWT-bearer grant → ``{access_token, expires_in, token_type}``.

        Refusals are OAuth's (RFC 6749 5.2): 400 ``{"error": "unsupported_grant_type" |
        "invalid_grant", "error_description"}``, which google-auth raises as ``RefreshError``.
        """
        if request.form.get("grant_type") != keys.JWT_BEARER:
            return json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Use the JWT bearer grant.",
                },
                status=400,
            )
        try:
            keys.assertion_verify(request.form.get("assertion", ""), self.key, self.certs)
        except keys.GrantRefused as refused:
            return json_response(
                {"error": "invalid_grant", "error_description": str(refused)}, status=400
            )
        token = keys.access_token_make(self.store.config("token_secret"))
        return json_response(
            {"access_token": token, "expires_in": keys.TOKEN_LIFETIME, "token_type": "Bearer"}
        )

    def signup(self, request: Request, signup_id: str) -> Response:
        """Google's signup page, imitated: ``Organization name``, ``Confirm``, 303 to the callback.

        English only, like the rest of the sandbox: it stands in for Google's page, which is not
        Mamori's, so it is not translated.
        """
        rows = self.store.read("SELECT 1 FROM signup_url WHERE id = ?", (signup_id,))
        if not rows:
            return Response("This signup link is not valid.", status=404, mimetype="text/plain")
        if request.method == "GET":
            return Response(signup_page(signup_id), mimetype="text/html")
        organization = request.form.get("organization_name", "").strip()
        if not organization:
            return Response(signup_page(signup_id, missing=True), status=400, mimetype="text/html")
        target = resources.signup_confirm(self.store, signup_id, organization[:100])
        return Response(status=303, headers={"Location": target or "/"})


def certificate_kept(store: Store, key: dict[str, Any]) -> str:
    """The key's self-signed certificate, made once and kept in the state file."""
    name = f"certificate:{key['private_key_id']}"
    kept = store.config(name)
    if kept:
        return kept
    made = keys.certificate_pem(key)
    with store.write() as db:
        db.execute("INSERT OR IGNORE INTO config VALUES (?, ?)", (name, made))
    return store.config(name)


def request_body(request: Request) -> dict[str, Any]:
    """The JSON body (``{}`` when empty); 400 INVALID_ARGUMENT for one that is not an object."""
    data = request.get_data(cache=False)
    if not data.strip():
        return {}
    try:
        body = json.loads(data)
    except ValueError:
        raise invalid("", "Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise invalid("", "Invalid JSON payload received. Expected an object.")
    return body


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    """``body`` as UTF-8 JSON, as Google sends it."""
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=UTF-8",
    )


SIGNUP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign up for Android Enterprise (sandbox)</title>
</head><body>
<h1>Android Enterprise signup</h1>
<p>This is Mamori's AMAPI sandbox standing in for Google's signup page: no Google account is
needed, and nothing leaves this machine.</p>
{error}
<form method="post" action="/signup/{signup_id}">
<label for="organization_name">Organization name</label>
<input id="organization_name" name="organization_name" required maxlength="100">
<button type="submit">Confirm</button>
</form>
</body></html>
"""


def signup_page(signup_id: str, missing: bool = False) -> str:
    """The signup page's HTML."""
    error = '<p role="alert">Enter the organization name.</p>' if missing else ""
    return SIGNUP_PAGE.format(signup_id=html.escape(signup_id), error=error)
