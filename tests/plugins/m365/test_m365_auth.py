"""msal client credentials through the connector's own HTTP settings (respx stands in for Entra)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from collabhub.connector import ConnectorContext
from collabhub.errors import AuthError
from collabhub_m365.auth import GraphTokenProvider, MsalHttpClient
from collabhub_m365.connector import M365Connector
from collabhub_m365.settings import M365Settings

LOGIN = "https://login.example.test"
GRAPH = "https://graph.example.test"


def settings(tenant: str, **extra: Any) -> M365Settings:
    base = {"tenant_id": tenant, "client_id": "11111111-2222-3333-4444-555555555555",
            "client_secret": "s3cret-value-xyz", "authority_host": LOGIN, "graph_endpoint": GRAPH,
            "mailboxes": ["adele@contoso.com"]}
    return M365Settings.model_validate({**base, **extra})


def mock_entra(router: respx.Router, host: str, tenant: str, *, tokens: list[str] | None = None,
               error: dict[str, Any] | None = None) -> respx.Route:
    router.get(f"{host}/{tenant}/v2.0/.well-known/openid-configuration").respond(json={
        "token_endpoint": f"{host}/{tenant}/oauth2/v2.0/token",
        "authorization_endpoint": f"{host}/{tenant}/oauth2/v2.0/authorize",
        "issuer": f"{host}/{tenant}/v2.0"})
    token_route = router.post(f"{host}/{tenant}/oauth2/v2.0/token")
    if error is not None:
        token_route.respond(401, json=error)
    else:
        token_route.side_effect = [httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3599,
                                                              "ext_expires_in": 3599, "access_token": t})
                                   for t in (tokens or ["token-1"])]
    return token_route


async def test_client_secret_with_default_scope_and_no_instance_discovery() -> None:
    tenant = str(uuid.uuid4())
    with respx.mock(assert_all_mocked=True) as router:
        token_route = mock_entra(router, LOGIN, tenant)
        provider = GraphTokenProvider(settings(tenant))
        assert await provider.token() == "token-1"
    form = parse_qs(token_route.calls[0].request.content.decode())
    assert form["grant_type"] == ["client_credentials"]
    assert form["scope"] == [f"{GRAPH}/.default"]
    assert form["client_id"] == ["11111111-2222-3333-4444-555555555555"]
    assert form["client_secret"] == ["s3cret-value-xyz"]


async def test_token_cache_is_shared_by_connector_instances() -> None:
    tenant = str(uuid.uuid4())
    with respx.mock(assert_all_mocked=True) as router:
        token_route = mock_entra(router, LOGIN, tenant, tokens=["token-1", "token-2"])
        assert await GraphTokenProvider(settings(tenant)).token() == "token-1"
        assert await GraphTokenProvider(settings(tenant)).token() == "token-1"  # msal cache, no IdP call
        assert token_route.call_count == 1


async def test_rejected_token_is_dropped_from_msal_cache() -> None:
    tenant = str(uuid.uuid4())
    with respx.mock(assert_all_mocked=True) as router:
        token_route = mock_entra(router, LOGIN, tenant, tokens=["token-1", "token-2"])
        provider = GraphTokenProvider(settings(tenant))
        assert await provider.token() == "token-1"
        provider.invalidate()
        assert await provider.token() == "token-2"
        assert token_route.call_count == 2


async def test_graph_401_refreshes_the_token_once() -> None:
    tenant = str(uuid.uuid4())
    config = settings(tenant)
    with respx.mock(assert_all_mocked=True) as router:
        mock_entra(router, LOGIN, tenant, tokens=["old", "new"])
        user = router.get(f"{GRAPH}/v1.0/users/adele@contoso.com")
        user.side_effect = [httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken",
                                                                "message": "Lifetime validation failed"}}),
                            httpx.Response(200, json={"id": "u1", "mail": "adele@contoso.com"})]
        async with M365Connector("outlook", config, ConnectorContext()) as connector:
            response = await connector.request("GET", "/users/adele@contoso.com")
        assert response.json()["id"] == "u1"
        assert [c.request.headers["Authorization"] for c in user.calls] == ["Bearer old", "Bearer new"]


async def test_wrong_secret_says_what_to_fix() -> None:
    tenant = str(uuid.uuid4())
    error = {"error": "invalid_client", "error_codes": [7000215],
             "error_description": "AADSTS7000215: Invalid client secret provided."}
    with respx.mock(assert_all_mocked=True) as router:
        mock_entra(router, LOGIN, tenant, error=error)
        with pytest.raises(AuthError) as caught:
            await GraphTokenProvider(settings(tenant)).token()
    assert "invalid_client" in str(caught.value) and "client_secret" in str(caught.value)
    assert "s3cret-value-xyz" not in str(caught.value)


async def test_china_cloud_endpoints() -> None:
    tenant = str(uuid.uuid4())
    config = M365Settings.model_validate({"tenant_id": tenant, "client_id": "c", "client_secret": "x" * 20,
                                          "cloud": "china", "mailboxes": ["a@contoso.cn"]})
    assert config.authority == f"https://login.chinacloudapi.cn/{tenant}"
    assert config.graph_base == "https://microsoftgraph.chinacloudapi.cn/v1.0"
    with respx.mock(assert_all_mocked=True) as router:
        token_route = mock_entra(router, "https://login.chinacloudapi.cn", tenant)
        assert await GraphTokenProvider(config).token() == "token-1"
    assert parse_qs(token_route.calls[0].request.content.decode())["scope"] == [
        "https://microsoftgraph.chinacloudapi.cn/.default"]


def test_msal_http_client_honours_proxy_and_ca_bundle(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    from collabhub.testing.sims.m365.tls import make_test_certificates
    from collabhub_m365 import auth

    made: dict[str, Any] = {}

    class Recorder:
        def __init__(self, **kwargs: Any) -> None:
            made.update(kwargs)

    monkeypatch.setattr(auth.httpx, "Client", Recorder)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "elsewhere.pem"))
    certs = make_test_certificates(tmp_path)
    MsalHttpClient(settings("t", http={"proxy": "http://proxy.corp.test:3128", "verify": certs.ca_path}).http)
    assert made["proxy"] == "http://proxy.corp.test:3128"
    assert isinstance(made["verify"], ssl.SSLContext)  # the configured CA bundle, not the environment's
    assert made["trust_env"] is False


def test_secrets_stay_out_of_repr() -> None:
    config = settings("t")
    connector = M365Connector("outlook", config, ConnectorContext())
    text = repr(config) + repr(connector) + repr(connector.auth())
    assert "s3cret-value-xyz" not in text


async def test_unreachable_identity_provider_is_transient() -> None:
    from collabhub.errors import Action

    tenant = str(uuid.uuid4())
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{LOGIN}/{tenant}/v2.0/.well-known/openid-configuration").mock(
            side_effect=httpx.ConnectError("connection refused"))
        with pytest.raises(AuthError) as caught:
            await GraphTokenProvider(settings(tenant)).token()
    assert caught.value.resolution.action is Action.RETRY
    assert "http.proxy" in str(caught.value)


async def test_unreadable_private_key_names_the_certificate_settings(tmp_path: Any) -> None:
    tenant = str(uuid.uuid4())
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    config = settings(tenant, client_secret=None, certificate={"private_key_path": str(key), "thumbprint": "AB12"})
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        mock_entra(router, LOGIN, tenant)
        with pytest.raises(AuthError, match="private_key_path"):
            await GraphTokenProvider(config).token()
