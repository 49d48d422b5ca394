"""What one identity may do at a scope, from its role assignments and their definitions.

The Permissions API answers only for the caller, so the endpoint's identity is judged from
the role assignments that name its principal id at the scope or above (ListForScope with
``principalId eq``), each role definition read from ARM (built-in or custom), and the RBAC
semantics of :mod:`secretinj_runtime.preflight.rbac`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import SecretInjectionError
from .arm import ArmReader

#: Role assignments younger than this may not have taken effect yet (docs: 15 min and more).
PROPAGATION_S = 30 * 60.0


@dataclass
class Holding:
    """Which of the asked actions an identity holds at a scope, and through which roles."""

    allowed: dict[str, bool] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)  # names of the roles that grant them
    since: dict[str, float] = field(default_factory=dict)  # action -> oldest grant's creation
    unreadable: list[str] = field(default_factory=list)  # role definitions we could not read

    @property
    def all(self) -> bool:
        """Whether every asked action is allowed."""
        return bool(self.allowed) and all(self.allowed.values())

    def missing(self) -> list[str]:
        """Return the asked actions no role grants."""
        return [a for a, ok in self.allowed.items() if not ok]

    def recent(self, now: float) -> float | None:
        """Minutes since an action was first granted, if that is within the propagation window.

        An action held through an older assignment too is not recent: it has propagated.
        """
        if not self.since:
            return None
        latest = max(self.since.values())
        if now - latest >= PROPAGATION_S:
            return None
        return max(0.0, (now - latest) / 60.0)


def parse_time(text: object) -> float | None:
    """ARM's ``createdOn`` (ISO 8601, up to 7 fractional digits) as epoch seconds."""
    if not isinstance(text, str) or not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    if "." in value:  # Python takes at most 6 fractional digits
        head, _, tail = value.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        value = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def evaluate(
    arm: ArmReader, scope: str, principal_id: str, actions: Sequence[tuple[str, bool]]
) -> Holding:
    """Evaluate ``(action, is_data_action)`` pairs for a principal at ``scope``.

    Raises the transport's error when the role assignments cannot be listed.
    """
    holding = Holding(allowed={a: False for a, _ in actions})
    for assignment in arm.role_assignments(scope, principal_id):
        definition_id = str(assignment.get("roleDefinitionId") or "")
        try:
            role = arm.role_definition(definition_id)
        except SecretInjectionError as ex:
            holding.unreadable.append(f"{definition_id.rsplit('/', 1)[-1]} ({ex.message})")
            continue
        grants = [a for a, data in actions if any(p.allows(a, data=data) for p in role.permissions)]
        if not grants:
            continue
        holding.roles.append(role.name)
        created = parse_time(assignment.get("createdOn"))
        for action in grants:
            holding.allowed[action] = True
            if created is not None:
                holding.since[action] = min(created, holding.since.get(action, created))
    return holding
