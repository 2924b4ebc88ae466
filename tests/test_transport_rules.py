"""Transport rules: the key never travels in clear text, and TLS verification cannot be lost.

- Plain http:// is refused for every host but this computer's loopback, by the client, the
  profile, the environment override and the command line, before any name is resolved or any
  connection is opened (an audit hook on the socket module is the witness).
- Every parser involved (ours, urllib's, httpx's) must agree on the host that is allowed.
- A redirect is never followed, so an answer cannot send the key elsewhere.
- Certificate verification is always on: SmsClient has no switch for it, the environment
  variables other tools use to turn it off do nothing, a self-signed certificate and a wrong
  host name are refused (as provably not sent), and the server never sees a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import inspect
import io
import ipaddress
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stress_helpers.fuzz_settings import fuzz_settings

from sms_tui import cli, config, credentials
from sms_tui.client import SmsClient, check_base_url
from sms_tui.credentials import ApiKey
from sms_tui.errors import ConfigError, InvalidInput, NotSent, ProtocolError, SmsTuiError
from sms_tui.models import SmsRequest

KEY = "transport-test-key-41c9e07d"

# ------------------------------------------------------------------ no connection: the witness

_WATCH: list[list[tuple[str, tuple]]] = []


def _audit(event: str, args: tuple) -> None:
    if not _WATCH:
        return
    if event == "socket.__new__" and args[1] in (socket.AF_INET, socket.AF_INET6):
        _WATCH[-1].append((event, args[1:]))  # (an event loop's own AF_UNIX pair is fine)
    elif event == "socket.connect":
        _WATCH[-1].append((event, args[1]))
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
        _WATCH[-1].append((event, args[:2]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only inside no_network()


@contextlib.contextmanager
def no_network() -> Iterator[list]:
    """Fails if anything inside resolves a name, creates a socket or connects one."""
    events: list = []
    _WATCH.append(events)
    try:
        yield events
    finally:
        _WATCH.pop()
    assert events == [], f"network activity where none may happen: {events}"


PLAIN_HTTP_ELSEWHERE = [
    "http://example.invalid/",
    "http://sms.8x8.com",
    "HTTP://SMS.8X8.COM",
    "http://10.0.0.1:8808",
    "http://192.168.1.10",
    "http://0.0.0.0:8808",
    "http://[::]:8808",
    "http://[2001:db8::1]",
    "http://127.0.0.1.nip.io",
    "http://localhost.example.com",
    "http://127.0.0.1:80@example.invalid",
    "http://127.0.0.1@example.invalid",
    "http://user:pw@127.0.0.1",
    "http://example.invalid\\@127.0.0.1",
    "http://example.invalid#@127.0.0.1",
    "http://example.invalid?@127.0.0.1",
    "http://2130706433",
    "http://127.1",
    "http://0x7f.0.0.1",
    "http://0177.0.0.1",
    "http://１２７.0.0.1",
    "http://127.0.0.1\u3002example.invalid",
    "http://127.0.0.1 .example.invalid",
    "http://127.0.0.1\t.example.invalid",
    "ftp://127.0.0.1",
    "ws://127.0.0.1",
    "file:///etc/passwd",
    "//example.invalid",
]
LOOPBACK = ["http://127.0.0.1:8808", "http://localhost:8808", "http://[::1]:8808",
            "http://127.5.6.7", "https://sms.8x8.com", "https://sms.8x8.com/"]


def _loopback_host(host: str) -> bool:
    host = host.strip("[]").split("%")[0].rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


@pytest.mark.parametrize("url", PLAIN_HTTP_ELSEWHERE)
def test_plain_http_elsewhere_is_refused_before_any_connection(url):
    with no_network():
        with pytest.raises(InvalidInput) as caught:
            SmsClient(api_key=ApiKey(KEY), subaccount_id="acme_hq", base_url=url)
        assert str(caught.value).endswith(".")  # a sentence for the person, not a traceback
        with pytest.raises(InvalidInput):
            check_base_url(url)
        with pytest.raises(InvalidInput):
            config.make_profile(name="p", subaccount_id="acme_hq", region="custom", base_url=url)


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_http_and_https_are_accepted(url):
    with no_network():
        client = SmsClient(api_key=ApiKey(KEY), subaccount_id="acme_hq", base_url=url)
        asyncio.run(client.aclose())
        assert _loopback_host(httpx.URL(client.base_url).host) or client.base_url.startswith(
            "https://"
        )


def test_the_environment_override_and_the_command_line_refuse_it_too(
    monkeypatch, capsys, memory_keyring
):
    monkeypatch.setenv("SMS_TUI_API_KEY", KEY)
    monkeypatch.setenv("SMS_TUI_SUBACCOUNT", "acme_hq")
    monkeypatch.setenv("SMS_TUI_BASE_URL", "http://example.invalid")
    with no_network():
        with pytest.raises(ConfigError) as caught:
            config.resolve_profile()
        assert "unencrypted" in str(caught.value)
        assert cli.main(["send", "--to", "+6591234567", "--text", "hi"]) == cli.EXIT_ERROR
    assert "unencrypted" in capsys.readouterr().err

    monkeypatch.delenv("SMS_TUI_BASE_URL")
    monkeypatch.delenv("SMS_TUI_API_KEY")
    monkeypatch.setattr(sys, "stdin", io.StringIO(KEY + "\n"))
    with no_network():
        code = cli.main(["setup", "--subaccount", "acme_hq", "--base-url", "http://example.invalid"])
    assert code == cli.EXIT_INVALID
    assert "unencrypted" in capsys.readouterr().err
    assert not config.config_path().exists()  # nothing saved,
    assert credentials.key_source("default") is None  # and the key kept nowhere
    assert memory_keyring.entries == {}


def test_a_hand_edited_profile_with_plain_http_is_refused_when_loaded(tmp_path):
    path = tmp_path / "config.toml"
    text = ('active_profile = "w"\n[profiles.w]\nsubaccount_id = "acme_hq"\n'
            'region = "custom"\nbase_url = "http://sms.8x8.com"\n')
    path.write_text(text)
    with no_network(), pytest.raises(ConfigError):
        config.load_settings(path)
    assert path.read_text() == text


# Pieces from which URLs are built: every parser of them must agree on the host it allows.
_HOSTS = st.sampled_from([
    "127.0.0.1", "localhost", "LocalHost", "[::1]", "127.255.0.9", "[::ffff:127.0.0.1]",
    "example.invalid", "sms.8x8.com", "127.0.0.1.example.invalid", "localhost.example.invalid",
    "0x7f000001", "017700000001", "127.1", "[::ffff:7f00:1]", "[0:0:0:0:0:0:0:1]", "0.0.0.0",
    "localhost.", "[::1%25lo]", "xn--localhost", "127。0。0。1", "ｌｏｃａｌｈｏｓｔ",
])
_JUNK = st.sampled_from(["", "@", ":", "\\", "/", "?", "#", "%2f", "%40", ".", ":80", "@127.0.0.1",
                         "@example.invalid", "\\@example.invalid", ":pw@", "%00", "\u3002"])


@st.composite
def _urls(draw) -> str:
    scheme = draw(st.sampled_from(["http", "HTTP", "hTTp", "https", "http:", "", "ftp"]))
    sep = draw(st.sampled_from(["://", ":/", ":", "//", ":\\\\", ":///"]))
    parts = [draw(_JUNK), draw(_HOSTS), draw(_JUNK), draw(st.sampled_from(["", ":8808", ":0"])),
             draw(_JUNK), draw(st.sampled_from(["", "/", "/api", "/x/../y"]))]
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), draw(_HOSTS))
    return scheme + sep + "".join(parts)


@fuzz_settings()
@given(st.one_of(_urls(), st.text(max_size=60)))
def test_every_accepted_http_url_means_loopback_to_every_parser(url):
    for check in (check_base_url, config.check_base_url):
        try:
            result = check(url)
        except InvalidInput as error:
            assert str(error)
            continue
        scheme = urlsplit(result).scheme
        assert scheme in ("http", "https"), result
        # What SmsClient does with it next: the client's own check, then httpx's parser
        # (building a whole client per example would cost an SSL context each).
        try:
            again = check_base_url(result)
        except InvalidInput:
            continue
        parsed = httpx.URL(again + "/api/v1/subaccounts/acme_hq/messages")
        if scheme == "http" or again.startswith("http://"):
            assert _loopback_host(urlsplit(result).hostname or ""), (url, result)
            assert _loopback_host(parsed.host), (url, result, again)


@pytest.mark.parametrize("url", ["https://sms.8x8.com¡", "https://¡"])
def test_a_host_httpx_cannot_encode_is_refused_as_invalid_input(url):
    # A stray character typed after the host: refused with a sentence, not saved into a
    # profile whose every send would end in httpx.InvalidURL.
    with pytest.raises(InvalidInput):
        config.make_profile(name="p", subaccount_id="acme_hq", region="custom", base_url=url)
        SmsClient(api_key=ApiKey(KEY), subaccount_id="acme_hq", base_url=url)


# ------------------------------------------------------------------ redirects


class _Redirect(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _redirect(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.hits += 1  # type: ignore[attr-defined]
        self.send_response(307)
        self.send_header("Location", "http://example.invalid/api/v1/steal")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _redirect  # noqa: N815 - http.server's naming

    def log_message(self, *args) -> None:
        pass


def test_a_redirect_is_never_followed_so_the_key_cannot_be_sent_elsewhere():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    server.hits = 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    async def go() -> list[SmsTuiError]:
        errors = []
        async with SmsClient(api_key=ApiKey(KEY), subaccount_id="acme_hq",
                             base_url=f"http://127.0.0.1:{server.server_port}") as client:
            for call in (client.send(SmsRequest(destination="+6591234567", text="hi")),
                         client.get_message("0" * 36), client.verify()):
                with pytest.raises(ProtocolError) as caught:
                    await call
                errors.append(caught.value)
        return errors

    try:
        errors = asyncio.run(go())
    finally:
        server.shutdown()
        server.server_close()
    assert server.hits == 3  # type: ignore[attr-defined]
    assert all("redirect" in str(error) for error in errors)


# ------------------------------------------------------------------ TLS


def test_certificate_verification_has_no_switch():
    parameters = set(inspect.signature(SmsClient.__init__).parameters)
    for name in ("verify", "insecure", "ssl", "ssl_context", "cert", "verify_ssl", "tls"):
        assert name not in parameters
    source = inspect.getsource(sys.modules[SmsClient.__module__])
    assert "verify=False" not in source and "CERT_NONE" not in source
    assert "check_hostname = False" not in source


def _certificate(directory: Path, hostname: str) -> tuple[Path, Path]:
    """A self-signed certificate for `hostname` only (no IP address in it)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _TlsServer:
    """Speaks TLS with a given certificate; records handshakes and any request that arrives."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.requests: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    with self.context.wrap_socket(conn, server_side=True) as tls:
                        self.handshakes += 1
                        data = tls.recv(65536)
                        self.requests.append(data)
                        body = b'{"code":1300,"message":"Message not found."}'
                        tls.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json"
                                    b"\r\nConnection: close\r\nContent-Length: "
                                    + str(len(body)).encode() + b"\r\n\r\n" + body)
                except (ssl.SSLError, OSError):
                    continue

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[_TlsServer, Path]]:
    cert, key = _certificate(tmp_path, "localhost")
    server = _TlsServer(cert, key)
    try:
        yield server, cert
    finally:
        server.close()


def _verify(base_url: str) -> None:
    async def go() -> None:
        async with SmsClient(api_key=ApiKey(KEY), subaccount_id="acme_hq", base_url=base_url,
                             max_attempts=1) as client:
            await client.verify()

    asyncio.run(go())


def test_a_self_signed_certificate_is_refused_and_the_server_sees_no_request(
    tls_server, monkeypatch
):
    server, _cert = tls_server
    # What turns verification off in other tools must not turn it off here.
    for name, value in (("PYTHONHTTPSVERIFY", "0"), ("CURL_CA_BUNDLE", ""),
                        ("REQUESTS_CA_BUNDLE", ""), ("HTTPX_VERIFY", "0"), ("SSL_VERIFY", "0"),
                        ("NODE_TLS_REJECT_UNAUTHORIZED", "0")):
        monkeypatch.setenv(name, value)
    for host in ("localhost", "127.0.0.1"):
        with pytest.raises(NotSent) as caught:
            _verify(f"https://{host}:{server.port}")
        assert "secure connection (TLS)" in str(caught.value)
        assert "Nothing was sent" in str(caught.value)
    assert server.requests == []


def test_trusting_the_certificate_explicitly_still_checks_the_host_name(tls_server, monkeypatch):
    server, cert = tls_server
    # SSL_CERT_FILE is the documented, explicit way to trust a private CA (a corporate proxy).
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    _verify(f"https://localhost:{server.port}")  # trusted and the right name: it connects
    assert server.handshakes == 1 and len(server.requests) == 1
    assert server.requests[0].startswith(b"GET /api/v1/subaccounts/acme_hq/messages/")
    with pytest.raises(NotSent) as caught:
        _verify(f"https://127.0.0.1:{server.port}")  # the certificate names localhost only
    assert "TLS" in str(caught.value)
    assert len(server.requests) == 1
