"""Outbound Bot Connector tokens from azure-identity, behind botbuilder's credentials factory.

SingleTenant bots use a client secret or a certificate; UserAssignedMSI bots use
the managed identity whose client id is the bot's app id.
"""

from __future__ import annotations

import asyncio
import logging

from azure.core.credentials import TokenCredential
from azure.identity import CertificateCredential, ClientSecretCredential, ManagedIdentityCredential
from botframework.connector.auth import AppCredentials, MicrosoftAppCredentials
from botframework.connector.auth.service_client_credentials_factory import ServiceClientCredentialsFactory
from msrest.authentication import Authentication

from adapters.runtime import SettingsError
from adapters.teams.settings import TeamsSettings

log = logging.getLogger(__name__)


def token_credential(settings: TeamsSettings) -> TokenCredential:
    """Choose the azure-identity credential for the configured app type."""
    if settings.app_type == "UserAssignedMSI":
        return ManagedIdentityCredential(client_id=settings.app_id)
    if settings.certificate_path:
        return CertificateCredential(settings.tenant_id, settings.app_id, certificate_path=settings.certificate_path)
    if settings.app_password:
        return ClientSecretCredential(settings.tenant_id, settings.app_id, settings.app_password)
    raise SettingsError(
        "MICROSOFT_APP_PASSWORD or MICROSOFT_APP_CERTIFICATE_PATH is not set. "
        "A SingleTenant bot needs one of them to send messages."
    )


BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"


async def prefetch_token(credential: TokenCredential | None) -> None:
    """Fetch the Bot Connector token on a worker thread, so the call msrest makes later hits the cache.

    msrest requests the token synchronously on the event loop (in signed_session), so
    without this a token refresh would block every other request while it runs.
    """
    if credential is not None:
        await asyncio.to_thread(credential.get_token, BOT_FRAMEWORK_SCOPE)


class TokenCredentialAppCredentials(AppCredentials):
    """AppCredentials whose tokens come from an azure-identity TokenCredential."""

    def __init__(self, app_id: str, credential: TokenCredential, oauth_scope: str) -> None:
        super().__init__(app_id=app_id, oauth_scope=oauth_scope)
        self.credential = credential

    def get_access_token(self, force_refresh: bool = False) -> str:
        # azure-identity caches the token and renews it shortly before it expires.
        scope = self.oauth_scope.rstrip("/") + "/.default"
        return self.credential.get_token(scope).token


class AzureIdentityCredentialsFactory(ServiceClientCredentialsFactory):
    def __init__(self, app_id: str, credential: TokenCredential | None) -> None:
        self.app_id = app_id
        self.credential = credential

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(self.app_id) and app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        return not self.app_id

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        if not self.app_id:
            return MicrosoftAppCredentials.empty()
        if app_id != self.app_id or self.credential is None:
            raise PermissionError(f"no credentials for app id {app_id}")
        return TokenCredentialAppCredentials(app_id, self.credential, oauth_scope)
