"""Feishu crypto recipes against the official and regression vectors of the reference."""

from __future__ import annotations

import base64

import pytest

from collabhub.testing.sims.feishu.signing import bot_signature, encrypt_push, push_signature
from collabhub_feishu.crypto import (
    CryptoError,
    bot_sign,
    card_signature,
    decrypt_event,
    encrypt_event,
    request_signature,
    signature_matches,
)

OFFICIAL_KEY = "test key"
OFFICIAL_ENCRYPT = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="
F2_BODY = b'{"encrypt":"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}'
F2_SIGNATURE = "ee8135faf2b7472beb66183fd3bde52c40839d19923d173fb3c273d8bb72e2d9"


def test_official_vector_decrypts_to_hello_world() -> None:
    assert decrypt_event(OFFICIAL_ENCRYPT, OFFICIAL_KEY) == "hello world"


def test_request_signature_vector() -> None:
    assert request_signature("1599360473", "nonce1", OFFICIAL_KEY, F2_BODY) == F2_SIGNATURE
    assert signature_matches(F2_SIGNATURE.upper(), "1599360473", "nonce1", OFFICIAL_KEY, F2_BODY)
    assert not signature_matches(F2_SIGNATURE, "1599360474", "nonce1", OFFICIAL_KEY, F2_BODY)
    assert not signature_matches(F2_SIGNATURE, "1599360473", "nonce1", OFFICIAL_KEY, F2_BODY + b" ")


def test_bot_sign_vector() -> None:
    assert bot_sign(1599360473, "test-secret") == "wSds2BzzFIIGf/WrhUO+NI1q/9j+FRJd3JNHKAq0NZY="
    assert bot_sign("1599360473", "test-secret") == bot_signature("1599360473", "test-secret")


def test_roundtrip_with_the_simulators_independent_encryptor() -> None:
    text = '{"schema":"2.0","event":{"summary":"月度跨部门协调会"}}'
    assert decrypt_event(encrypt_push(text, "k3y"), "k3y") == text
    assert decrypt_event(encrypt_event(text, "k3y"), "k3y") == text
    body = b'{"encrypt":"x"}'
    assert push_signature("1", "n", "k3y", body) == request_signature("1", "n", "k3y", body)


def test_fixed_iv_gives_the_official_ciphertext_layout() -> None:
    raw = base64.b64decode(OFFICIAL_ENCRYPT)
    assert encrypt_event("hello world", OFFICIAL_KEY, iv=raw[:16]) == OFFICIAL_ENCRYPT


@pytest.mark.parametrize("bad", [
    "not base64!!",
    base64.b64encode(b"short").decode(),
    base64.b64encode(b"x" * 33).decode(),
])
def test_malformed_payloads_are_refused(bad: str) -> None:
    with pytest.raises(CryptoError):
        decrypt_event(bad, OFFICIAL_KEY)


def test_wrong_key_or_tampered_ciphertext_is_refused() -> None:
    with pytest.raises(CryptoError):
        decrypt_event(OFFICIAL_ENCRYPT, "another key")
    raw = bytearray(base64.b64decode(OFFICIAL_ENCRYPT))
    raw[-1] ^= 0x01
    with pytest.raises(CryptoError):
        decrypt_event(base64.b64encode(bytes(raw)).decode(), OFFICIAL_KEY)


def test_legacy_card_signature_is_sha1_hex() -> None:
    signature = card_signature("1599360473", "nonce1", "token", b"{}")
    assert len(signature) == 40 and int(signature, 16) >= 0
