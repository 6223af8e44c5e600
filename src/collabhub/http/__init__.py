"""The shared HTTP layer: client factory, auth flows, paginators, retry, rate limiting, JSON bodies."""

from collabhub.http.auth import AppTokenAuth, BasicAuth, BearerAuth, OAuth2ClientCredentials, TokenGrant
from collabhub.http.body import json_body
from collabhub.http.client import HttpSettings, build_client, ssl_verify
from collabhub.http.paginate import (
    LinkPaginator,
    NextTokenPaginator,
    OffsetPaginator,
    PageRequest,
    Paginator,
    paginate,
)
from collabhub.http.ratelimit import RateLimiter
from collabhub.http.retry import default_classify, parse_retry_after, send

__all__ = [
    "AppTokenAuth",
    "BasicAuth",
    "BearerAuth",
    "HttpSettings",
    "LinkPaginator",
    "NextTokenPaginator",
    "OAuth2ClientCredentials",
    "OffsetPaginator",
    "PageRequest",
    "Paginator",
    "RateLimiter",
    "TokenGrant",
    "build_client",
    "default_classify",
    "json_body",
    "paginate",
    "parse_retry_after",
    "send",
    "ssl_verify",
]
