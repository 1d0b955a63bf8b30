"""Standard Webhooks signatures: signing what we send and verifying what we receive.

The signature itself (signed content, HMAC, `v1,` encoding) is the reference library's
(`standardwebhooks`). What it leaves out stays here: a timestamp tolerance from the settings
against the service's clock, checked before the body is read; secrets refused at start-up
unless they are `whsec_` and long enough; several clients' secrets, the matching one naming
the client; malformed signature entries ignored rather than raised.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hmac
from collections.abc import Mapping

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """A request whose webhook headers or signature do not check out."""


def parse_secret(secret: str) -> bytes:
    """Turn a `whsec_<base64>` secret into the HMAC key it stands for."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"webhook secrets start with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except binascii.Error as error:
        raise ValueError("a webhook secret is base64 after its 'whsec_' prefix") from error
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret decodes to 24 to 64 bytes")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the `v1,<base64>` signature of one message, or SignatureError for a body that is not UTF-8.

    The reference library signs text, so a body must be UTF-8 (JSON is; so are notebooks and
    Python sources unless they declare another encoding).
    """
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise SignatureError("the body is not UTF-8, so its Standard Webhooks signature cannot be checked") from None
    return Webhook(key).sign(msg_id, datetime.datetime.fromtimestamp(timestamp, datetime.UTC), text)


def signed_headers(key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the three Standard Webhooks headers for one delivery attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, msg_id, timestamp, body),
    }


def check_headers(
    headers: Mapping[str, str], now: float, tolerance: int = DEFAULT_TOLERANCE_SECONDS
) -> tuple[str, int, list[bytes]]:
    """The webhook id, timestamp and offered `v1` signatures, or SignatureError.

    Everything that can be refused without the body: the service checks this before it reads
    one, so a request that can never verify costs it no upload.
    """
    msg_id = headers.get("webhook-id", "")
    raw_timestamp = headers.get("webhook-timestamp", "")
    raw_signatures = headers.get("webhook-signature", "")
    if not msg_id or not raw_timestamp or not raw_signatures:
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature headers are required")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise SignatureError("webhook-timestamp must be integer Unix seconds") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"webhook-timestamp is more than {tolerance} s away from the server's clock")
    return msg_id, timestamp, _v1_signatures(raw_signatures)


def verify(
    keys: Mapping[str, bytes],
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """Return the name of the key that signed `body`, or raise SignatureError.

    `keys` maps a client name to its HMAC key; the matching key names the client, which is
    how requests are attributed without a separate client header.
    """
    msg_id, timestamp, offered = check_headers(headers, now, tolerance)
    match = None
    for name, key in keys.items():
        expected = sign(key, msg_id, timestamp, body).encode()
        # Every offered signature is compared, match or not, so timing says nothing about which.
        for candidate in offered:
            if hmac.compare_digest(expected, candidate) and match is None:
                match = name
    if match is None:
        raise SignatureError("no webhook-signature matches the body with a known secret")
    return match


def _v1_signatures(header: str) -> list[bytes]:
    """The `v1,...` entries of a space-separated signature header, others (e.g. `v1a`) ignored."""
    return [
        entry.encode()
        for entry in header.split()
        if entry.startswith(f"{SIGNATURE_VERSION},")
    ]
