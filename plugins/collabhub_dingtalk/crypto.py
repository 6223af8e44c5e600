"""DingTalk signing and callback encryption, per the official recipes.

Two recipes live here:

* **Robot signing** (``robot_sign``): ``urlencode(b64(HMAC-SHA256(secret, f"{ts}\\n{secret}")))`` with
  ``ts`` in milliseconds; both go in the robot URL's query string.
* **Callback crypto** (:class:`CallbackCrypto`), as ``DingCallbackCrypto.java`` does it:
  ``aes_key = b64decode(EncodingAESKey + "=")`` (lenient: the official keys have non-zero trailing
  bits), IV = the key's first 16 bytes, plaintext = ``random16 || uint32_be(len(utf8 msg)) || msg ||
  owner_key``, PKCS7 padding with a **32-byte** block, AES-256-CBC without cipher-level padding;
  ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt])))``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import string
import struct
import time
from urllib.parse import quote_plus

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["BLOCK", "CallbackCrypto", "CryptoError", "decode_aes_key", "robot_sign"]

BLOCK = 32  # the padding block of DingTalk's callback crypto (not AES's 16)
_NONCE_ALPHABET = string.ascii_letters + string.digits


class CryptoError(ValueError):
    """A callback failed verification or decryption (the message says which step)."""


def robot_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value for a group robot with the "加签" security setting (already URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """Decode the 43-character EncodingAESKey leniently and check it gives 32 bytes."""
    if len(encoding_aes_key) != 43:
        raise CryptoError(f"the callback aes_key must be 43 characters, got {len(encoding_aes_key)}")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=False)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError(f"the callback aes_key is not base64: {exc}") from None
    if len(key) != 32:
        raise CryptoError(f"the callback aes_key decodes to {len(key)} bytes, expected 32")
    return key


def _pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    if not data:
        raise CryptoError("decrypted message is empty")
    n = data[-1]
    if not 1 <= n <= BLOCK or n > len(data) or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad padding in the decrypted message (wrong aes_key, or a tampered message)")
    return data[:-n]


class CallbackCrypto:
    """Verify, decrypt and encrypt DingTalk HTTP callbacks for one (token, aes_key, owner_key)."""

    def __init__(self, token: str, aes_key: str, owner_key: str) -> None:
        self._token = token
        self._key = decode_aes_key(aes_key)
        self._owner = owner_key.encode()

    def __repr__(self) -> str:
        return "CallbackCrypto(<hidden>)"

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """``msg_signature`` for these values: SHA-1 hex of the four strings sorted and joined."""
        return hashlib.sha1("".join(sorted([self._token, timestamp, nonce, encrypt])).encode()).hexdigest()

    def verify(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
        """Constant-time check of a received ``msg_signature``."""
        return hmac.compare_digest(self.signature(timestamp, nonce, encrypt), signature.lower())

    def encrypt(self, message: str, *, random16: bytes | None = None) -> str:
        """Encrypt ``message``; the length field counts UTF-8 bytes."""
        body = message.encode()
        prefix = random16 if random16 is not None else "".join(
            secrets.choice(_NONCE_ALPHABET) for _ in range(16)).encode()
        if len(prefix) != 16:
            raise CryptoError("the random prefix must be 16 bytes")
        plain = _pad(prefix + struct.pack(">I", len(body)) + body + self._owner)
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt(self, encrypt: str) -> str:
        """Decrypt ``encrypt`` and check the owner key at its end; raise :class:`CryptoError` otherwise."""
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("the encrypt field is not base64") from None
        if not raw or len(raw) % 16:
            raise CryptoError("the encrypt field is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError("the decrypted message is too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("the decrypted length field runs past the message")
        message, owner = plain[20:20 + length], plain[20 + length:]
        if not hmac.compare_digest(owner, self._owner):
            raise CryptoError("the callback is for another app (owner key mismatch)")
        try:
            return message.decode()
        except UnicodeDecodeError:
            raise CryptoError("the decrypted message is not UTF-8") from None

    def open(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        """Verify the signature, then decrypt (the order DingTalk's samples use)."""
        if not self.verify(signature, timestamp, nonce, encrypt):
            raise CryptoError("msg_signature does not match (wrong token, or a tampered message)")
        return self.decrypt(encrypt)

    def reply(self, message: str = "success", *, timestamp: str | None = None,
              nonce: str | None = None) -> dict[str, str]:
        """The encrypted answer DingTalk expects: ``{msg_signature, timeStamp, nonce, encrypt}``."""
        timestamp = timestamp or str(int(time.time() * 1000))
        nonce = nonce or "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(8))
        encrypt = self.encrypt(message, random16=os.urandom(8).hex().encode())
        return {"msg_signature": self.signature(timestamp, nonce, encrypt), "timeStamp": timestamp,
                "nonce": nonce, "encrypt": encrypt}
