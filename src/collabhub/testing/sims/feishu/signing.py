"""The vendor side of Feishu's crypto, written independently of the connector's code.

The simulator encrypts and signs event pushes and checks custom-bot signatures with these, so a
round trip between the two exercises two implementations of the same published recipes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["bot_signature", "encrypt_push", "push_signature"]


def encrypt_push(plaintext: str, encrypt_key: str) -> str:
    """``b64(iv || AES-256-CBC(SHA256(encrypt_key), iv, PKCS7(plaintext)))`` with a random IV."""
    key = hashlib.sha256(encrypt_key.encode()).digest()
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(data) + encryptor.finalize()).decode()


def push_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """``X-Lark-Signature``: hex SHA-256 of ``timestamp + nonce + encrypt_key`` followed by the body."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def bot_signature(timestamp: str, secret: str) -> str:
    """A custom bot's ``sign``: b64 HMAC-SHA256 keyed by ``timestamp + "\\n" + secret`` over nothing."""
    return base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
