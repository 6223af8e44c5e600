"""Feishu crypto recipes: event decryption (F1), request signature (F2), custom-bot signing (F3).

The recipes follow the Feishu docs and ``lark_oapi`` exactly:

* F1: ``key = SHA256(encrypt_key)``; ``raw = b64decode(encrypt)``; ``iv = raw[:16]``; AES-256-CBC
  over ``raw[16:]``; strip PKCS#7 (block 16).
* F2: ``X-Lark-Signature = hex(SHA256(timestamp + nonce + encrypt_key || raw_body))``, over the
  raw bytes exactly as received.
* F3: ``sign = b64(HMAC-SHA256(key = timestamp + "\\n" + secret, msg = b""))``, ``timestamp`` in
  seconds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "CryptoError",
    "bot_sign",
    "card_signature",
    "decrypt_event",
    "encrypt_event",
    "event_key",
    "request_signature",
    "signature_matches",
]

_BLOCK = 16


class CryptoError(ValueError):
    """An encrypted payload or a signature could not be verified."""


def event_key(encrypt_key: str) -> bytes:
    """The AES-256 key Feishu derives from the app's Encrypt Key: ``SHA256(utf8(encrypt_key))``."""
    return hashlib.sha256(encrypt_key.encode("utf-8")).digest()


def decrypt_event(encrypted: str, encrypt_key: str) -> str:
    """Decrypt the ``encrypt`` field of an event push (recipe F1) and return the UTF-8 text."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("the encrypt field is not valid base64") from exc
    if len(raw) < 2 * _BLOCK or len(raw) % _BLOCK:
        raise CryptoError(f"the encrypted payload has {len(raw)} bytes; expected a multiple of 16, at least 32")
    iv, body = raw[:_BLOCK], raw[_BLOCK:]
    decryptor = Cipher(algorithms.AES(event_key(encrypt_key)), modes.CBC(iv)).decryptor()
    padded = decryptor.update(body) + decryptor.finalize()
    unpadder = padding.PKCS7(_BLOCK * 8).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise CryptoError("bad PKCS#7 padding: wrong encrypt key or a tampered payload") from exc
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CryptoError("the decrypted payload is not UTF-8: wrong encrypt key?") from exc


def encrypt_event(plaintext: str, encrypt_key: str, *, iv: bytes | None = None) -> str:
    """Encrypt like Feishu does (random IV, PKCS#7, ``b64(iv || ciphertext)``); used by the simulator."""
    iv = iv if iv is not None else os.urandom(_BLOCK)
    if len(iv) != _BLOCK:
        raise CryptoError("the IV must be 16 bytes")
    padder = padding.PKCS7(_BLOCK * 8).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(event_key(encrypt_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def request_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """``X-Lark-Signature`` for a push (recipe F2): lowercase hex SHA-256."""
    digest = hashlib.sha256()
    digest.update((timestamp + nonce + encrypt_key).encode("utf-8"))
    digest.update(body)
    return digest.hexdigest()


def signature_matches(signature: str, timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> bool:
    """Constant-time check of a received ``X-Lark-Signature``."""
    expected = request_signature(timestamp, nonce, encrypt_key, body)
    return hmac.compare_digest(expected, signature.strip().lower())


def card_signature(timestamp: str, nonce: str, verification_token: str, body: bytes) -> str:
    """Signature of legacy card callbacks: ``hex(SHA1(timestamp + nonce + token || body))``."""
    digest = hashlib.sha1()
    digest.update((timestamp + nonce + verification_token).encode("utf-8"))
    digest.update(body)
    return digest.hexdigest()


def bot_sign(timestamp: int | str, secret: str) -> str:
    """Custom-bot signature (recipe F3): the HMAC key is ``timestamp + "\\n" + secret``, the message empty."""
    string_to_sign = f"{timestamp}\n{secret}".encode()
    mac = hmac.new(string_to_sign, b"", hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")
