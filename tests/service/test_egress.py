"""The outbound guard: origins compared exactly, non-public destinations refused unless named."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import ipaddress
import ssl
import threading

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from grader.service.egress import (
    EgressRefused,
    allowing,
    GuardedTransport,
    Origin,
    check_url,
    guarded_client,
    is_public,
    parse_origin,
    parse_url,
)

LMS = ["https://lms.example.edu"]


def test_the_userinfo_trick_is_refused():
    with pytest.raises(EgressRefused, match="user information"):
        check_url("https://lms.example.edu@attacker.test/cb", LMS)


def test_the_suffix_trick_is_refused():
    with pytest.raises(EgressRefused, match="not one of the allowed origins"):
        check_url("https://lms.example.edu.attacker.test/cb", LMS)


@pytest.mark.parametrize("url", ["http://lms.example.edu/cb", "https://lms.example.edu:8443/cb"])
def test_another_scheme_or_port_of_the_same_host_is_refused(url):
    with pytest.raises(EgressRefused, match="not one of the allowed origins"):
        check_url(url, LMS)


def test_case_default_port_and_trailing_slash_do_not_matter():
    assert check_url("HTTPS://LMS.Example.EDU:443/api/cb?x=1", ["https://lms.example.edu/"]) == Origin(
        "https", "lms.example.edu", 443)


def test_international_host_names_compare_in_their_ascii_form():
    assert check_url("https://xn--bcher-kva.example/cb", ["https://bücher.example"]).host == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://lms.example.edu/cb", "only http and https"),
        ("https://lms.example.edu/cb#frag", "fragment"),
        ("https://lms.example.edu\\@attacker.test/cb", "backslashes"),
        ("https://lms.example.edu:99999/cb", "port"),
        ("https:///cb", "no host"),
    ],
)
def test_urls_a_receiver_could_misread_are_refused(url, reason):
    with pytest.raises(EgressRefused, match=reason):
        parse_url(url)


@pytest.mark.parametrize(
    "text", ["https://lms.example.edu/api", "https://lms.example.edu/?a=1", "https://u@lms.example.edu"]
)
def test_an_origin_is_only_scheme_host_and_port(text):
    with pytest.raises(EgressRefused):
        parse_origin(text)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.5", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
     "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
     "2002:7f00:1::", "64:ff9b::a9fe:a9fe"],
)
def test_non_public_addresses(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address):
    assert is_public(ipaddress.ip_address(address))


def _resolving_to(*addresses):
    return lambda host, port: [ipaddress.ip_address(a) for a in addresses]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::ffff:127.0.0.1"])
def test_an_allowed_host_name_resolving_to_a_non_public_address_is_refused(address):
    transport = GuardedTransport(resolver=_resolving_to("203.0.113.9", address))
    with pytest.raises(EgressRefused, match="resolves to an address that is not public"):
        transport.address_for(parse_url("https://lms.example.edu/cb"), LMS)


def test_an_origin_named_by_its_loopback_address_is_reached_without_resolving():
    transport = GuardedTransport(resolver=_resolving_to())
    origins = ["http://127.0.0.1:9000"]
    assert transport.address_for(parse_url("http://127.0.0.1:9000/cb"), origins) == ipaddress.ip_address("127.0.0.1")


def test_a_loopback_address_on_another_port_than_the_named_origin_is_refused():
    with pytest.raises(EgressRefused, match="resolves to an address that is not public"):
        GuardedTransport().address_for(parse_url("http://127.0.0.1:9001/cb"), ["http://127.0.0.1:9000"])


def test_a_host_name_resolving_to_an_address_and_port_its_own_origins_name_is_allowed():
    transport = GuardedTransport(resolver=_resolving_to("127.0.0.1"))
    origins = ["http://lms.test:9000", "http://127.0.0.1:9000"]
    assert transport.address_for(parse_url("http://lms.test:9000/cb"), origins) == ipaddress.ip_address("127.0.0.1")


def test_localhost_is_refused_even_when_allowed_by_name():
    # The real resolver: localhost is loopback, and no allowed origin names a loopback address.
    with guarded_client(timeout=5) as client:
        with pytest.raises(EgressRefused, match="localhost resolves to"):
            client.post("http://localhost:9/cb", extensions=allowing(["http://localhost:9"]))


def test_a_request_without_allowed_origins_is_refused(lms):
    with guarded_client(timeout=5) as client:
        with pytest.raises(EgressRefused, match="not one of the allowed origins"):
            client.post(f"{lms.url}/callback")
    assert lms.paths == []


def test_a_request_off_its_allowed_origins_is_refused_by_the_transport_itself(lms):
    with guarded_client(timeout=5) as client:
        with pytest.raises(EgressRefused, match="not one of the allowed origins"):
            client.post(f"{lms.url}/callback", extensions=allowing(["https://lms.example.edu"]))
    assert lms.paths == []


def test_a_request_goes_to_the_checked_address_with_the_host_name_kept(lms):
    port = int(lms.url.rsplit(":", 1)[1])
    named = f"http://lms.test:{port}"
    with httpx.Client(transport=GuardedTransport(resolver=_resolving_to("127.0.0.1"))) as client:
        assert client.post(f"{named}/nowhere", extensions=allowing([named, lms.url])).status_code == 404
    assert lms.hosts == [f"lms.test:{port}"]


def test_redirects_are_not_followed(lms):
    with guarded_client(timeout=5) as client:
        response = client.post(f"{lms.url}/redirect", extensions=allowing([lms.url]))
    assert response.status_code == 307
    assert lms.paths == ["/redirect"]


def _certificate_authority_and_server_files(tmp_path, server_name):
    """A throwaway CA, and a server certificate for `server_name` that it signed (PEM files)."""
    now = datetime.datetime.now(datetime.timezone.utc)

    def certificate(subject, issuer, public_key, signing_key, *, ca, names=()):
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    server = certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, server_name)]), ca_name,
                         server_key.public_key(), ca_key, ca=False, names=[server_name])
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.pem").write_bytes(
        server.public_bytes(serialization.Encoding.PEM)
        + server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    )
    return tmp_path / "ca.pem", tmp_path / "server.pem"


@contextlib.contextmanager
def _tls_server(certificate_file):
    """An HTTPS server on 127.0.0.1 that answers 204 and records each request's Host header."""
    hosts = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            hosts.append(self.headers["host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hosts
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("certified_name", "accepted"), [("lms.test", True), ("other.test", False)])
def test_tls_to_the_pinned_address_checks_the_certificate_for_the_name(tmp_path, certified_name, accepted):
    ca_file, server_file = _certificate_authority_and_server_files(tmp_path, certified_name)
    with _tls_server(server_file) as (port, hosts):
        origins = [f"https://lms.test:{port}", f"https://127.0.0.1:{port}"]
        verify = ssl.create_default_context(cafile=str(ca_file))
        transport = GuardedTransport(resolver=_resolving_to("127.0.0.1"), verify=verify)
        with httpx.Client(transport=transport) as client:
            if accepted:
                assert client.post(f"https://lms.test:{port}/cb", extensions=allowing(origins)).status_code == 204
                assert hosts == [f"lms.test:{port}"]
            else:
                with pytest.raises(httpx.ConnectError):
                    client.post(f"https://lms.test:{port}/cb", extensions=allowing(origins))
