"""Our tool's RSA keys: the private halves sign our JWTs, the public halves are served as a JWKS.

Each key's `kid` is the platform registration's `key_id` or, without one, the key's RFC 7638
thumbprint, so a platform that reads our JWKS finds the key a JWT names. Rotation: publish the
next key (`published_key_files`), let the platforms pick it up, make it `private_key_file`, and
keep the old one published until what it signed has expired.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from grader.service.settings import LtiPlatform, LtiRegistrationInvite


@dataclasses.dataclass(frozen=True)
class SigningKey:
    """The private key our JWTs for one platform are signed with, and the `kid` they name."""

    kid: str
    private_pem: str = dataclasses.field(repr=False)


def public_jwk(key: rsa.RSAPublicKey, kid: str | None = None) -> dict[str, str]:
    """The public JWK of an RSA key (RFC 7517), with `kid` (default: its thumbprint)."""
    numbers = key.public_numbers()
    jwk = {"e": _b64_int(numbers.e), "kty": "RSA", "n": _b64_int(numbers.n)}
    return {**jwk, "kid": kid or thumbprint(jwk), "alg": "RS256", "use": "sig"}


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 thumbprint of an RSA JWK: SHA-256 of its required members in lexicographic order."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def signing_key(platform: LtiPlatform) -> SigningKey:
    """The key we sign with for `platform`."""
    pem = platform.private_key_file.read_text()
    return SigningKey(kid=public_jwk(_public_key(pem), platform.key_id)["kid"], private_pem=pem)


def published_jwks(platforms: Iterable[LtiPlatform | LtiRegistrationInvite]) -> dict[str, Any]:
    """The JWKS of /lti/jwks.json: the public half of every key any platform uses or will use, once each."""
    keys: dict[str, dict[str, str]] = {}
    for platform in platforms:
        jwk = public_jwk(_public_key(platform.private_key_file.read_text()), platform.key_id)
        keys.setdefault(jwk["kid"], jwk)
        for path in platform.published_key_files:
            jwk = public_jwk(_public_key(Path(path).read_text()))
            keys.setdefault(jwk["kid"], jwk)
    return {"keys": list(keys.values())}


def _public_key(pem: str) -> rsa.RSAPublicKey:
    """The public half of a PEM file holding an RSA private or public key."""
    data = pem.encode()
    key: Any = (
        serialization.load_pem_public_key(data)
        if b"PUBLIC KEY-----" in data
        else serialization.load_pem_private_key(data, password=None).public_key()
    )
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("LTI keys must be RSA keys (RS256)")
    return key


def _b64_int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
