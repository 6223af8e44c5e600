"""The public surface plugin authors build on is deliberate: these names, and only these."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "collabhub.connector": {"CheckResult", "Connector", "ConnectorConfig", "ConnectorContext", "Delivery",
                            "DeliveryResult", "Page", "SendSlots", "Stream", "WebhookSink", "Writer"},
    "collabhub.model": {"Attendee", "Booking", "BookingStatus", "Department", "ENTITY_TYPES", "Entity", "EntityKind",
                        "Link", "Meeting", "MeetingStatus", "Person", "PersonRef", "Project", "Recurrence", "Resource",
                        "ResourceKind", "ResponseStatus", "SourceRef", "StatusCategory", "Task", "Visibility",
                        "content_hash", "echo_fingerprint", "entity_from_data", "entity_json"},
    "collabhub.http": {"AppTokenAuth", "BasicAuth", "BearerAuth", "HttpSettings", "LinkPaginator",
                       "NextTokenPaginator", "OAuth2ClientCredentials", "OffsetPaginator", "PageRequest", "Paginator",
                       "RateLimiter", "TokenGrant", "build_client", "default_classify", "json_body", "paginate",
                       "parse_retry_after", "send", "ssl_verify"},
    "collabhub.errors": {"Action", "AuthError", "CollabhubError", "ConfigError", "ConnectorError", "DeliveryError",
                         "ErrorResolution", "MappingError", "PluginError", "QuotaExhaustedError", "RateLimitedError",
                         "RemoteError", "StoreError", "WebhookRejected", "Who", "WorkflowError"},
    "collabhub.testing": {"Company", "Faults", "Simulator", "free_port", "generate_company"},
    "collabhub.plugins": {"ENTRY_POINT_GROUP", "PluginHost", "get_host", "reset_host"},
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned(module):
    mod = importlib.import_module(module)
    assert set(mod.__all__) == PUBLIC[module]
    for name in mod.__all__:
        assert getattr(mod, name) is not None
