"""Azure RBAC evaluation: wildcard actions, notActions, data actions, scopes (pure, no I/O).

As the Azure docs define it (see PREFLIGHT.md, section 2):

* an action is ``{Company}.{Provider}/{resourceType}/.../{action}``; ``*`` in a pattern
  matches any run of characters, ``/`` included (``Microsoft.Compute/virtualMachines/*``
  covers the child resource types too); matching is case-insensitive;
* each permission element stands alone: an action is allowed when some element lists it
  in ``actions`` and the same element does not list it in ``notActions`` (``notActions`` is
  not a deny: another element may still allow it); data actions likewise, with
  ``dataActions``/``notDataActions``, and ``*`` in ``actions`` grants no data action;
* a role assignment applies at its scope and every scope below it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple


class Permission(NamedTuple):
    """One element of a role definition's ``permissions`` (or of the Permissions API)."""

    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Permission:
        """Read ``{actions, notActions, dataActions, notDataActions}`` (missing lists: empty)."""

        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key) or ()
            return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()

        return cls(
            strings("actions"),
            strings("notActions"),
            strings("dataActions"),
            strings("notDataActions"),
        )

    def to_json(self) -> dict[str, list[str]]:
        """Return the ARM JSON shape."""
        return {
            "actions": list(self.actions),
            "notActions": list(self.not_actions),
            "dataActions": list(self.data_actions),
            "notDataActions": list(self.not_data_actions),
        }

    def allows(self, action: str, *, data: bool = False) -> bool:
        """Tell whether this element alone allows ``action`` (a data action if ``data``)."""
        granted, excluded = (
            (self.data_actions, self.not_data_actions) if data else (self.actions, self.not_actions)
        )
        return any(action_matches(p, action) for p in granted) and not any(
            action_matches(p, action) for p in excluded
        )


@lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(part) for part in pattern.strip().lower().split("*"))
    return re.compile(".*".join(parts))


def action_matches(pattern: str, action: str) -> bool:
    """Tell whether an RBAC action ``pattern`` (with ``*`` wildcards) covers ``action``."""
    return _pattern(pattern).fullmatch(action.strip().lower()) is not None


def permits(permissions: Iterable[Permission], action: str, *, data: bool = False) -> bool:
    """Tell whether any element of ``permissions`` allows ``action``."""
    return any(p.allows(action, data=data) for p in permissions)


def normalize_scope(scope: str) -> str:
    """Return a scope without a trailing slash, lower-cased for comparison (``/`` stays)."""
    text = scope.strip().lower()
    return text.rstrip("/") or "/"


def scope_covers(assigned: str, target: str) -> bool:
    """Tell whether an assignment at ``assigned`` applies to ``target`` (same or below)."""
    outer, inner = normalize_scope(assigned), normalize_scope(target)
    return outer in ("/", inner) or inner.startswith(outer + "/")
