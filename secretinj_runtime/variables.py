"""What a resolver knows about environment variables: written back, watched, announced.

A variable the resolver wrote back keeps its reference, the value last written and the
mapping it lives in; a variable watched with ``on_change`` (not written) keeps its reference
and the value last seen. Every new payload of a group is compared with those values (not
with the previous payload: after a revocation there is none), written back where it changed,
and announced to the ``on_change`` callbacks once the caller is outside every lock and flight
(`run_callbacks`).
"""

from __future__ import annotations

import threading

from ._log import get_logger
from .errors import NotFoundError
from .references import KeyVaultReference, variable_reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping
    from typing import Any

    from .references import Reference

    Payload = dict[str, Any] | str
    Key = tuple[str, ...]


def value_of(ref: Reference, payload: Payload) -> str:
    """Return the value ``ref`` names in its group's payload; raise `NotFoundError`.

    The error is raised from a frame that no longer holds the payload (crash reporters that
    capture the locals of a traceback's frames find no credential).
    """
    if isinstance(ref, KeyVaultReference):
        assert isinstance(payload, str)
        return payload
    from .connections import extract

    assert isinstance(payload, dict)
    try:
        return extract(ref, payload)
    except NotFoundError as ex:
        error = ex.copy()
    del payload
    raise error


class _Var:
    """A variable: its reference, the last value seen, and the mapping it was written to."""

    __slots__ = ("env", "ref", "value")

    def __init__(
        self, ref: Reference, value: str | None, env: MutableMapping[str, str] | None
    ) -> None:
        self.ref = ref
        self.value = value
        self.env = env

    def __repr__(self) -> str:  # never the value
        return f"_Var({self.ref!r}, written={self.env is not None})"


class Variables:
    """The written-back and watched variables of one resolver, and their callbacks."""

    def __init__(self) -> None:
        self._vars: dict[str, _Var] = {}
        self._watchers: dict[str, list[Callable[[str], None]]] = {}
        self._due: list[str] = []
        self._lock = threading.Lock()

    def written_names(self) -> frozenset[str]:
        """Names this resolver wrote back."""
        with self._lock:
            return frozenset(n for n, v in self._vars.items() if v.env is not None)

    def written_reference(self, name: str, value: str | None) -> str | None:
        """Return the reference ``name`` held if the resolver wrote ``value`` to it."""
        known = self._vars.get(name)
        if known is not None and known.env is not None and known.value == value:
            return str(known.ref)
        return None

    def reference_of(self, name: str, value: str) -> Reference | None:
        """Return the reference behind ``value`` (None for a literal); raise if malformed."""
        known = self._vars.get(name)
        if known is not None and known.env is not None and known.value == value:
            return known.ref
        return variable_reference(name, value)

    def remember(
        self, name: str, ref: Reference, value: str, env: MutableMapping[str, str]
    ) -> None:
        """Write ``value`` to ``env[name]`` and remember that it is ``ref``'s value.

        Raises ``ValueError`` when the environment refuses the value (a NUL character).
        """
        env[name] = value
        with self._lock:
            self._vars[name] = _Var(ref, value, env)

    def watch(
        self,
        name: str,
        ref: Reference | None,
        baseline: str | None,
        callback: Callable[[str], None],
    ) -> None:
        """Call ``callback(name)`` when a new payload changes ``name``'s value.

        ``ref`` is needed for a variable not written back (its last value is ``baseline``).
        """
        with self._lock:
            if name not in self._vars and ref is not None:
                self._vars[name] = _Var(ref, baseline, None)
            self._watchers.setdefault(name, []).append(callback)

    def knows(self, name: str) -> bool:
        """Whether ``name`` is written back or watched."""
        return name in self._vars

    def groups(self) -> set[Key]:
        """Return the fetch groups some variable needs (the cache keeps them)."""
        with self._lock:
            return {v.ref.group_key for v in self._vars.values()}

    def apply(self, key: Key, payload: Payload) -> None:
        """Compare a new payload of group ``key`` with every variable of it; write and queue."""
        with self._lock:
            known = [(n, v) for n, v in self._vars.items() if v.ref.group_key == key]
        log = get_logger(__name__)
        for name, var in known:
            try:
                new = value_of(var.ref, payload)
            except NotFoundError as ex:
                log.warning("%s (%s): after a refresh: %s", name, var.ref, ex.message)
                continue
            if new == var.value:
                continue
            if var.value is None and var.env is None:  # a watcher's first sight: a baseline
                var.value = new
                continue
            if var.env is not None:
                try:
                    var.env[name] = new
                except ValueError:  # os.environ refuses NUL characters
                    log.warning(
                        "%s (%s): SERVICE_ERROR: a refresh brought a value the environment "
                        "cannot hold (NUL character); keeping the previous one",
                        name,
                        var.ref,
                    )
                    continue
            var.value = new
            with self._lock:
                self._due.append(name)

    def run_callbacks(self) -> None:
        """Announce changed variables; call it outside every lock and flight."""
        with self._lock:
            due, self._due = self._due, []
            callbacks = [(n, list(self._watchers.get(n, ()))) for n in dict.fromkeys(due)]
        log = get_logger(__name__)
        for name, watchers in callbacks:
            log.info("%s: a refresh brought a new value", name)
            for callback in watchers:
                try:
                    callback(name)
                except Exception:
                    log.exception("on_change callback for %s failed", name)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._due = []
