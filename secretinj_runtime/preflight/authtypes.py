"""Connection auth types and the credential fields each carries (ListSecrets vocabulary).

One table for the mock (which validates its connections with it) and for preflight (which
tells whether ``/credentials/<key>`` fits a connection's authType without reading secrets).
From REFERENCE.md, "credentials by authType".
"""

from __future__ import annotations

# authType -> (required credential fields, optional credential fields)
CREDENTIAL_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "ApiKey": (frozenset({"key"}), frozenset()),
    "CustomKeys": (frozenset({"keys"}), frozenset()),
    "AccessKey": (frozenset({"accessKeyId", "secretAccessKey"}), frozenset()),
    "AccountKey": (frozenset({"key"}), frozenset()),
    "SAS": (frozenset({"sas"}), frozenset()),
    "PAT": (frozenset({"pat"}), frozenset()),
    "UsernamePassword": (frozenset({"username", "password"}), frozenset({"securityToken"})),
    "ServicePrincipal": (frozenset({"clientId", "clientSecret", "tenantId"}), frozenset()),
    "ManagedIdentity": (frozenset({"resourceId", "clientId"}), frozenset()),
    "OAuth2": (
        frozenset({"clientId"}),
        frozenset(
            {
                "authUrl",
                "clientSecret",
                "developerToken",
                "password",
                "refreshToken",
                "tenantId",
                "username",
            }
        ),
    ),
    "AAD": (frozenset(), frozenset()),
    "None": (frozenset(), frozenset()),
}
NO_CREDENTIALS = frozenset({"AAD", "None"})
#: The authType whose credential names are the caller's own (``credentials.keys``).
CUSTOM_KEYS = "CustomKeys"
