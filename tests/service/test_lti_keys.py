"""Our tool's keys: public halves in the JWKS with their kid, rotation by publishing, private halves kept."""

from __future__ import annotations

from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from grader.service.lti_keys import published_jwks, signing_key, thumbprint
from grader.service.settings import LtiPlatform, LtiRegistrationInvite

# RFC 7638 §3.1: the example key and its thumbprint.
RFC_7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
    "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5"
    "hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


def _key_file(directory: Path, name: str) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / name
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


def _platform(key_file: Path, **fields) -> LtiPlatform:
    return LtiPlatform(client_id="tool", token_url="https://lms.example/token", private_key_file=key_file,
                       origins=["https://lms.example"], **fields)


def test_the_thumbprint_is_rfc_7638s():
    assert thumbprint({"kty": "RSA", "n": RFC_7638_N, "e": "AQAB"}) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_the_jwks_holds_public_members_only(tmp_path):
    jwks = published_jwks([_platform(_key_file(tmp_path, "tool.pem"))])
    assert [set(key) for key in jwks["keys"]] == [{"kty", "n", "e", "kid", "alg", "use"}]


def test_a_key_without_key_id_is_named_by_its_thumbprint(tmp_path):
    platform = _platform(_key_file(tmp_path, "tool.pem"))
    [jwk] = published_jwks([platform])["keys"]
    assert jwk["kid"] == thumbprint(jwk) == signing_key(platform).kid


def test_a_configured_key_id_names_the_key(tmp_path):
    platform = _platform(_key_file(tmp_path, "tool.pem"), key_id="2026-11")
    assert published_jwks([platform])["keys"][0]["kid"] == signing_key(platform).kid == "2026-11"


def test_published_keys_are_served_beside_the_signing_key_once_each(tmp_path):
    current, upcoming = _key_file(tmp_path, "current.pem"), _key_file(tmp_path, "next.pem")
    platforms = [_platform(current, published_key_files=[upcoming]), _platform(current)]
    assert len(published_jwks(platforms)["keys"]) == 2


def test_what_the_signing_key_signs_verifies_with_the_published_half(tmp_path):
    platform = _platform(_key_file(tmp_path, "tool.pem"))
    key = signing_key(platform)
    token = jwt.encode({"iss": "tool"}, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
    [jwk] = published_jwks([platform])["keys"]
    assert jwt.decode(token, jwt.PyJWK(jwk), algorithms=["RS256"]) == {"iss": "tool"}


def test_an_invited_registrations_key_is_published_before_the_platform_registers(tmp_path):
    invite = LtiRegistrationInvite(token="t" * 32, origins=["https://lms.example"],
                                   private_key_file=_key_file(tmp_path, "invited.pem"))
    platforms = [_platform(_key_file(tmp_path, "tool.pem")), invite]
    assert len(published_jwks(platforms)["keys"]) == 2
