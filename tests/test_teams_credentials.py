"""Outbound Teams tokens: which azure-identity credential each app type uses, and a managed identity end to end."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from azure.identity import CertificateCredential, ClientSecretCredential, ManagedIdentityCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from adapters.runtime import SettingsError
from adapters.teams.credentials import token_credential
from adapters.teams.settings import TeamsSettings
from tests.fakes.botframework import FakeBotConnector, OpenIdServer, TokenSigner, message_activity
from tests.harness import TEAMS_APP_ID, TEAMS_TENANT_ID, bound_socket, serve_bot

MSI_TOKEN = "token-from-the-managed-identity-endpoint"


def settings(**environ: str) -> TeamsSettings:
    base = {"MICROSOFT_APP_ID": TEAMS_APP_ID, "MICROSOFT_APP_TENANT_ID": TEAMS_TENANT_ID}
    result = TeamsSettings.from_env(False, {**base, **environ})
    assert result is not None
    return result


def write_certificate(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chatops-test")])
    now = time.time()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.fromtimestamp(now - 60, timezone.utc))
        .not_valid_after(datetime.fromtimestamp(now + 3600, timezone.utc))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem + certificate.public_bytes(serialization.Encoding.PEM))


def test_single_tenant_secret_uses_client_secret() -> None:
    credential = token_credential(settings(MICROSOFT_APP_PASSWORD="secret"))

    assert isinstance(credential, ClientSecretCredential)


def test_single_tenant_certificate_preferred(tmp_path: Path) -> None:
    path = tmp_path / "bot.pem"
    write_certificate(path)

    credential = token_credential(settings(MICROSOFT_APP_PASSWORD="secret", MICROSOFT_APP_CERTIFICATE_PATH=str(path)))

    assert isinstance(credential, CertificateCredential)


def test_user_assigned_msi_uses_managed_identity() -> None:
    credential = token_credential(settings(MICROSOFT_APP_TYPE="UserAssignedMSI"))

    assert isinstance(credential, ManagedIdentityCredential)


def test_single_tenant_without_secret_rejected() -> None:
    with pytest.raises(SettingsError, match="MICROSOFT_APP_PASSWORD or MICROSOFT_APP_CERTIFICATE_PATH"):
        token_credential(settings())


def test_single_tenant_without_tenant_rejected() -> None:
    with pytest.raises(SettingsError, match="MICROSOFT_APP_TENANT_ID is not set"):
        TeamsSettings.from_env(False, {"MICROSOFT_APP_ID": TEAMS_APP_ID, "MICROSOFT_APP_PASSWORD": "x"})


def test_missing_certificate_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not a file"):
        settings(MICROSOFT_APP_CERTIFICATE_PATH=str(tmp_path / "absent.pem"))


def test_no_app_id_without_dev_disables_teams() -> None:
    assert TeamsSettings.from_env(False, {}) is None


class ManagedIdentityEndpoint:
    """The App Service managed identity endpoint, which azure-identity calls with plain HTTP."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.requests.append((self.path, self.headers.get("X-IDENTITY-HEADER")))
                body = json.dumps(
                    {
                        "access_token": MSI_TOKEN,
                        "expires_on": str(int(time.time()) + 3600),
                        "resource": "https://api.botframework.com",
                        "token_type": "Bearer",
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/msi/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def identity_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagedIdentityEndpoint]:
    endpoint = ManagedIdentityEndpoint()
    # azure-identity reads these from the process environment.
    monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint.url)
    monkeypatch.setenv("IDENTITY_HEADER", "identity-header-value")
    yield endpoint
    endpoint.close()


async def test_managed_identity_token_reaches_connector(
    tmp_path: Path,
    identity_endpoint: ManagedIdentityEndpoint,
    openid: OpenIdServer,
    signer: TokenSigner,
    connector: FakeBotConnector,
    http,
) -> None:
    environ = {
        "MICROSOFT_APP_ID": TEAMS_APP_ID,
        "MICROSOFT_APP_TYPE": "UserAssignedMSI",
        "CHATOPS_TEAMS_OPENID_METADATA_URL": openid.metadata_url,
    }
    sock = bound_socket()
    runner, running = await serve_bot(environ, tmp_path, sock, teams_credential=None)
    try:
        activity = message_activity("whoami", user_aad_id="00000000-0000-0000-0000-0000000000a1", service_url=connector.url)
        headers = {"Authorization": f"Bearer {signer.token(TEAMS_APP_ID, connector.url)}"}
        async with http.post(f"{running.url}/api/messages", json=activity, headers=headers) as response:
            assert response.status == 200

        call = await connector.wait_for(lambda call: call.method == "POST")
        await running.tasks.idle()
    finally:
        await runner.cleanup()

    assert call.authorization == f"Bearer {MSI_TOKEN}"
    path, header = identity_endpoint.requests[0]
    assert f"client_id={TEAMS_APP_ID}" in path
    assert "resource=https://api.botframework.com" in path
    assert header == "identity-header-value"
