"""Teams settings from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from adapters.runtime import SettingsError

APP_TYPES = ("SingleTenant", "UserAssignedMSI")
# Bot Framework's public OpenID metadata; CHATOPS_TEAMS_OPENID_METADATA_URL overrides it for local tests.
DEFAULT_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"


@dataclass(frozen=True)
class TeamsSettings:
    app_id: str
    app_password: str
    tenant_id: str
    app_type: str
    certificate_path: str
    openid_metadata_url: str
    dev: bool

    @property
    def authenticated(self) -> bool:
        return bool(self.app_id)

    @classmethod
    def from_env(cls, dev: bool, environ: dict[str, str] | None = None) -> TeamsSettings | None:
        """Read the MICROSOFT_APP_* variables; None when Teams is not configured and not in development mode."""
        environ = os.environ if environ is None else environ
        app_id = environ.get("MICROSOFT_APP_ID", "")
        if not app_id and not dev:
            return None

        app_type = environ.get("MICROSOFT_APP_TYPE", "SingleTenant") or "SingleTenant"
        if app_type not in APP_TYPES:
            raise SettingsError(
                f"MICROSOFT_APP_TYPE is {app_type!r}. Use SingleTenant or UserAssignedMSI: "
                "new multi-tenant bot registrations are deprecated."
            )
        tenant_id = environ.get("MICROSOFT_APP_TENANT_ID", "")
        if app_id and app_type == "SingleTenant" and not tenant_id:
            raise SettingsError("MICROSOFT_APP_TENANT_ID is not set. A SingleTenant bot needs its tenant id.")

        certificate_path = environ.get("MICROSOFT_APP_CERTIFICATE_PATH", "")
        if certificate_path and not os.path.isfile(certificate_path):
            raise SettingsError(f"MICROSOFT_APP_CERTIFICATE_PATH names {certificate_path}, which is not a file.")

        return cls(
            app_id=app_id,
            app_password=environ.get("MICROSOFT_APP_PASSWORD", ""),
            tenant_id=tenant_id,
            app_type=app_type,
            certificate_path=certificate_path,
            openid_metadata_url=environ.get("CHATOPS_TEAMS_OPENID_METADATA_URL") or DEFAULT_OPENID_METADATA_URL,
            dev=dev,
        )
