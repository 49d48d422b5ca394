"""Who may do what: role definitions, role assignments and their evaluation.

Two ways to give access, one model underneath:

* the ``access`` section and ``/_mock/access/grant|revoke`` say whether an endpoint identity
  holds *the* role a data call needs (Azure Machine Learning Workspace Connection Secrets
  Reader on the workspace, Key Vault Secrets User on a vault); each such holding shows up as
  a role assignment of that built-in role (a vault in the access-policy model holds it as an
  access policy instead);
* ``role_assignments`` (state file) and ``/_mock/role-assignments`` add assignments of any
  role, built-in or custom, at any scope, to any principal (the deployer included).

An assignment is listed from its creation time and takes effect at ``effective_from``
(role propagation). Every call is allowed when an effective assignment of the caller at or
above the resource's scope has a role that permits the action (RBAC wildcard semantics).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from secretinj_runtime.preflight.rbac import scope_covers
from secretinj_runtime.preflight.roles import BUILTIN_ROLES, RoleDefinition, role_guid

#: Initial holdings and assignments without a time were made this long before the start.
LONG_AGO_S = 30 * 86400.0


@dataclass
class AccessRule:
    """Who holds the data role on one scope (the workspace or a vault).

    An explicit grant wins (once its propagation time has passed), then an explicit
    revoke, then ``everyone`` (the endpoint identities, not the deployer).
    """

    everyone: bool
    grants: dict[str, float] = field(default_factory=dict)  # identity -> effective from
    granted_at: dict[str, float] = field(default_factory=dict)  # identity -> created
    revoked: set[str] = field(default_factory=set)

    def allows(self, identity: str, now: float, *, endpoint_identity: bool = True) -> bool:
        """Return whether ``identity`` holds the role at time ``now``."""
        if identity in self.grants:
            return now >= self.grants[identity]
        if identity in self.revoked:
            return False
        return self.everyone and endpoint_identity

    def holders(self, identities: Iterable[str], since: float) -> list[tuple[str, float, float]]:
        """Return ``(identity, created, effective_from)`` of every holder, pending ones too."""
        out = [(i, self.granted_at.get(i, since), t) for i, t in self.grants.items()]
        if self.everyone:
            held = {i for i, _, _ in out} | self.revoked
            out += [(i, since, float("-inf")) for i in identities if i not in held]
        return out

    def grant(self, identity: str, now: float, delay_s: float) -> None:
        """Grant the role now; it takes effect after ``delay_s``."""
        self.revoked.discard(identity)
        self.grants[identity] = now + max(0.0, delay_s)
        self.granted_at[identity] = now

    def revoke(self, identity: str) -> None:
        """Revoke the role at once."""
        self.grants.pop(identity, None)
        self.granted_at.pop(identity, None)
        self.revoked.add(identity)

    def to_dict(self, now: float) -> dict[str, Any]:
        """Return the rule as JSON-ready data."""
        return {
            "everyone": self.everyone,
            "granted": sorted(i for i, t in self.grants.items() if now >= t),
            "pending": {i: round(t - now, 3) for i, t in sorted(self.grants.items()) if now < t},
            "revoked": sorted(self.revoked),
        }


def initial_rule(value: bool | tuple[str, ...]) -> AccessRule:
    """Build a rule from the state file's ``true``, ``false`` or list of identities."""
    if isinstance(value, bool):
        return AccessRule(everyone=value)
    return AccessRule(everyone=False, grants=dict.fromkeys(value, float("-inf")))


@dataclass(frozen=True)
class RoleAssignment:
    """A role assignment: principal (identity key), role GUID, full ARM scope, times."""

    id: str
    principal: str
    role_id: str
    scope: str
    created: float
    effective_from: float
    origin: str = "state"  # state | control | access (from an access holding)


def assignment_id(*parts: str) -> str:
    """Return a stable GUID for an assignment made of ``parts``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "secretinj-mock-assignment:" + "|".join(parts)))


class RoleBook:
    """Role definitions (built-in and custom) and the explicitly made role assignments."""

    def __init__(self, custom: Mapping[str, RoleDefinition]) -> None:
        self.roles: dict[str, RoleDefinition] = {r.id: r for r in BUILTIN_ROLES}
        self.roles |= {r.id: r for r in custom.values()}
        self.assignments: list[RoleAssignment] = []

    def role(self, ref: str) -> RoleDefinition | None:
        """Return a role by GUID, role definition id or (case-insensitive) name."""
        found = self.roles.get(role_guid(ref))
        if found is not None:
            return found
        wanted = ref.strip().lower()
        return next((r for r in self.roles.values() if r.name.lower() == wanted), None)

    def add(self, assignment: RoleAssignment) -> RoleAssignment:
        """Add (or replace, same id) an assignment."""
        self.remove(assignment.id)
        self.assignments.append(assignment)
        return assignment

    def remove(self, assignment_id_: str) -> bool:
        """Remove an assignment by id; return whether there was one."""
        before = len(self.assignments)
        self.assignments = [a for a in self.assignments if a.id != assignment_id_.lower()]
        return len(self.assignments) != before

    def permits(
        self,
        assignments: Iterable[RoleAssignment],
        principal: str,
        action: str,
        scope: str,
        now: float,
        *,
        data: bool = False,
    ) -> bool:
        """Tell whether an effective assignment of ``principal`` allows ``action`` at ``scope``."""
        for a in assignments:
            if a.principal != principal or a.effective_from > now:
                continue
            if not scope_covers(a.scope, scope):
                continue
            role = self.roles.get(a.role_id)
            if role is not None and any(p.allows(action, data=data) for p in role.permissions):
                return True
        return False
