"""The identity provider half of the simulator: OIDC metadata and the v2.0 token endpoint.

Client credentials only, as a daemon uses them: a client secret, or a JWT client assertion
signed with the app's certificate (checked against the registered certificate). The scope must
be ``<resource>/.default``. Errors carry Entra's ``error``/``error_description``/``error_codes``.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography import x509
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collabhub.testing.sims.m365.state import SimState

__all__ = ["IdentityRoutes"]

TOKEN_LIFETIME = 3599


def _entra_error(status: int, error: str, code: int, description: str) -> JSONResponse:
    now = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    return JSONResponse({"error": error, "error_description": f"AADSTS{code}: {description}",
                         "error_codes": [code], "timestamp": now, "trace_id": str(uuid.uuid4()),
                         "correlation_id": str(uuid.uuid4())}, status_code=status)


class IdentityRoutes:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.token_requests = 0

    def _base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def _known_tenant(self, tenant: str) -> bool:
        return tenant.lower() in (self.state.tenant_id.lower(), "organizations")

    async def openid_configuration(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if not self._known_tenant(tenant):
            return _entra_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        base = f"{self._base(request)}/{self.state.tenant_id}"
        return JSONResponse({
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{self._base(request)}/{self.state.tenant_id}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "tenant_region_scope": "AS",
            "cloud_instance_name": "microsoftonline.com",
        })

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        tenant = request.path_params["tenant"]
        if not self._known_tenant(tenant):
            return _entra_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _entra_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        client_id = str(form.get("client_id") or "")
        app = self.state.apps.get(client_id)
        if app is None:
            return _entra_error(400, "unauthorized_client", 700016,
                                f"Application with identifier '{client_id}' was not found in the directory.")
        scopes = str(form.get("scope") or "").split()
        if not any(s.endswith("/.default") for s in scopes):
            return _entra_error(400, "invalid_scope", 1002012,
                                "The provided value for scope is not valid. Client credential flows must have a "
                                "scope value with /.default suffixed to the resource identifier.")
        assertion = form.get("client_assertion")
        if assertion:
            problem = self._check_assertion(str(assertion), client_id, str(request.url).split("?")[0])
            if problem:
                return _entra_error(401, "invalid_client", 700027, problem)
        elif not app.secret or not secrets.compare_digest(str(form.get("client_secret") or ""), app.secret):
            return _entra_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
                                "being sent in the request is the client secret value, not the client secret ID.")
        token = secrets.token_urlsafe(32)
        self.state.tokens[token] = (client_id, time.time() + TOKEN_LIFETIME)
        return JSONResponse({"token_type": "Bearer", "expires_in": TOKEN_LIFETIME,
                             "ext_expires_in": TOKEN_LIFETIME, "access_token": token})

    def _check_assertion(self, assertion: str, client_id: str, audience: str) -> str | None:
        app = self.state.apps[client_id]
        if app.certificate_pem is None:
            return "Client assertion contains an invalid signature: no certificate is registered for this app."
        key = x509.load_pem_x509_certificate(app.certificate_pem).public_key()
        try:
            claims: dict[str, Any] = jwt.decode(assertion, key, algorithms=["RS256", "PS256", "ES256"],
                                                audience=audience, options={"require": ["exp", "aud", "iss", "sub"]})
        except jwt.PyJWTError as exc:
            return f"Client assertion contains an invalid signature or claims: {exc}."
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return "Client assertion issuer and subject must be the client id."
        return None

    def token_valid(self, header: str | None) -> str | None:
        """The client id a bearer header authenticates, or None."""
        if not header or not header.lower().startswith("bearer "):
            return None
        found = self.state.tokens.get(header[7:].strip())
        if found is None or found[1] < time.time():
            return None
        return found[0]
