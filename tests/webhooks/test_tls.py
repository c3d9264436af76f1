"""The https delivery path: the worker connects to the address the guard checked, and
still sends SNI and checks the certificate against the callback's host name."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from authserver.events.ssrf import Target
from authserver.events.worker import post


def _certificate(directory: Path, host: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[int, Path, list[tuple[str, str]]]]:
    cert, key = _certificate(tmp_path, "hooks.tpp.test")
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            seen.append((self.headers.get("Host", ""), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert, seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_https_to_the_checked_address_with_the_hosts_certificate(
    tls_receiver: tuple[int, Path, list[tuple[str, str]]],
) -> None:
    port, cert, seen = tls_receiver
    trusted = ssl.create_default_context(cafile=str(cert))
    # The name never resolves (.test): the connection goes to the checked IP only.
    target = Target("https", "hooks.tpp.test", port, "/hook", ip="127.0.0.1")

    assert post(target, b"event.jws", {"Content-Type": "application/jwt"}, 10, trusted) == 204
    assert seen == [(f"hooks.tpp.test:{port}", "event.jws")]

    # A certificate for another name fails verification: no event is sent.
    wrong = Target("https", "other.tpp.test", port, "/hook", ip="127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError):
        post(wrong, b"event.jws", {}, 10, trusted)
    assert len(seen) == 1
