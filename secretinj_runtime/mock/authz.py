"""The mock's authorization: access holdings, role assignments, scopes and decisions.

See :mod:`secretinj_runtime.mock.access` for the model. Identities are keyed as tokens carry
them: ``system``, a user-assigned client id, or the deployer's client id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from secretinj_runtime.mock.access import (
    LONG_AGO_S,
    AccessRule,
    RoleAssignment,
    RoleBook,
    assignment_id,
    initial_rule,
)
from secretinj_runtime.mock.tokens import object_id
from secretinj_runtime.preflight.roles import (
    CONNECTION_SECRETS_READER,
    GET_SECRET,
    KEYVAULT_SECRETS_USER,
    LISTSECRETS,
)

if TYPE_CHECKING:
    from typing import Protocol

    from secretinj_runtime.mock.model import StateSpec
    from secretinj_runtime.mock.vaultstore import VaultRecord

    class MockState(Protocol):
        """What authorization reads of the mock's state (the store implements it)."""

        spec: StateSpec
        subscription: str
        resource_group: str

        def now(self) -> float:
            """Return the mock's time."""
            ...

        def vault(self, name: str) -> VaultRecord | None:
            """Return a vault by name."""
            ...


class Authorization:
    """Decides every call: the data roles of ``access`` plus any role assignment."""

    def __init__(self, state: MockState) -> None:
        self._state = state
        self.rules: dict[str, AccessRule] = {}
        self.book = RoleBook(state.spec.custom_roles)
        self.started = 0.0

    # identities ------------------------------------------------------------------------

    @property
    def deployer(self) -> str | None:
        """The deployer's identity key (its client id), if the state has one."""
        spec = self._state.spec.deployer
        return spec.client_id if spec is not None else None

    def principal(self, name: str) -> str:
        """Map ``deployer`` to the deployer's client id; other names are identity keys."""
        key = name.strip().lower()
        return (self.deployer or key) if key == "deployer" else key

    def principal_type(self, identity: str) -> str:
        """``User`` (or the state's type) for the deployer, else ``ServicePrincipal``."""
        spec = self._state.spec.deployer
        if spec is not None and identity == spec.client_id:
            return spec.principal_type
        return "ServicePrincipal"

    def principal_id(self, identity: str) -> str:
        """Return the object (principal) id that role assignments name."""
        return object_id(identity)

    # scopes ----------------------------------------------------------------------------

    def scope_id(self, scope: str) -> str:
        """Resolve ``workspace``, ``resource_group``, ``subscription``, ``vault:<n>`` or an id."""
        state = self._state
        sub = f"/subscriptions/{state.subscription}"
        if scope == "subscription":
            return sub
        if scope == "resource_group":
            return f"{sub}/resourceGroups/{state.resource_group}"
        if scope == "workspace":
            return state.spec.workspace
        if scope.startswith("vault:"):
            return self.vault_id(scope[6:])
        return scope.rstrip("/") or "/"

    def vault_id(self, name: str) -> str:
        """Return the ARM id of a vault (its settings name its resource group)."""
        state = self._state
        record = state.vault(name)
        group = (record.settings.resource_group if record else None) or state.resource_group
        vault = record.name if record else name
        return (
            f"/subscriptions/{state.subscription}/resourceGroups/{group}"
            f"/providers/Microsoft.KeyVault/vaults/{vault}"
        )

    # state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Rebuild holdings and assignments from the state file."""
        state = self._state
        spec = state.spec
        self.started = state.now()
        self.rules = {"workspace": initial_rule(spec.workspace_access)}
        vault_access = {v.lower(): a for v, a in spec.vault_access.items()}
        for vault in spec.vaults:
            self.rules[f"vault:{vault.lower()}"] = initial_rule(
                vault_access.get(vault.lower(), True)
            )
        self.book = RoleBook(spec.custom_roles)
        for i, item in enumerate(spec.role_assignments):
            if item.created is not None:
                created = float(item.created)
            else:
                created = self.started - (item.age_s if item.age_s is not None else LONG_AGO_S)
            principal = self.principal(item.principal)
            scope = self.scope_id(item.scope)
            self.book.add(
                RoleAssignment(
                    assignment_id("state", str(i), principal, item.role, scope),
                    principal,
                    item.role,
                    scope,
                    created,
                    created,
                )
            )

    def ensure_vault_rule(self, vault: str) -> None:
        """Give a vault created at run time the default holding (every endpoint identity)."""
        self.rules.setdefault(f"vault:{vault.lower()}", AccessRule(everyone=True))

    def grant(self, identity: str, scope: str, delay_s: float = 0.0) -> None:
        """Hold the data role of ``workspace`` or ``vault:<name>``, effective after a delay."""
        rule = self.rules.setdefault(scope.lower(), AccessRule(everyone=False))
        rule.grant(self.principal(identity), self._state.now(), delay_s)

    def revoke(self, identity: str, scope: str) -> None:
        """Stop holding the data role at once (other role assignments stay)."""
        rule = self.rules.setdefault(scope.lower(), AccessRule(everyone=False))
        rule.revoke(self.principal(identity))

    def _holding_assignments(self) -> list[RoleAssignment]:
        state = self._state
        out: list[RoleAssignment] = []
        since = self.started - LONG_AGO_S
        for key, rule in self.rules.items():
            if key == "workspace":
                role, scope = CONNECTION_SECRETS_READER, state.spec.workspace
            else:
                record = state.vault(key[6:])
                if record is None or not record.settings.rbac_authorization:
                    continue  # the access-policy model: no role assignment
                role, scope = KEYVAULT_SECRETS_USER, self.vault_id(key[6:])
            for identity, created, effective in rule.holders(state.spec.identities, since):
                out.append(
                    RoleAssignment(
                        assignment_id("access", key, identity),
                        identity,
                        role.id,
                        scope,
                        created,
                        effective,
                        "access",
                    )
                )
        return out

    def assignments(self) -> list[RoleAssignment]:
        """Every role assignment: the explicit ones and those of the data-role holdings."""
        return [*self.book.assignments, *self._holding_assignments()]

    # decisions -------------------------------------------------------------------------

    def allowed(self, identity: str, action: str, scope: str, *, data: bool = False) -> bool:
        """Tell whether ``identity`` may do ``action`` on the resource ``scope`` now."""
        now = self._state.now()
        return self.book.permits(self.assignments(), identity, action, scope, now, data=data)

    def has_role(self, identity: str, scope: str) -> bool:
        """Whether ``identity`` may read connection secrets (``workspace``) or a vault's."""
        key = scope.lower()
        if key == "workspace":
            return self.allowed(identity, LISTSECRETS, self._state.spec.workspace)
        record = self._state.vault(key.removeprefix("vault:"))
        if record is None:
            return False
        if not record.settings.rbac_authorization:  # access policies: the holding alone
            rule = self.rules.get(key)
            endpoint = identity in self._state.spec.identities
            now = self._state.now()
            return rule is not None and rule.allows(identity, now, endpoint_identity=endpoint)
        return self.allowed(identity, GET_SECRET, self.vault_id(record.name), data=True)

    def access_policy_holders(self, vault: str) -> list[str]:
        """Identities holding a vault's data role as an access policy (access-policy model)."""
        rule = self.rules.get(f"vault:{vault.lower()}")
        if rule is None:
            return []
        now = self._state.now()
        return [
            i
            for i, _, effective in rule.holders(self._state.spec.identities, self.started)
            if effective <= now
        ]

    def describe(self) -> dict[str, Any]:
        """Return the holdings per scope as JSON-ready data."""
        now = self._state.now()
        return {scope: rule.to_dict(now) for scope, rule in self.rules.items()}
