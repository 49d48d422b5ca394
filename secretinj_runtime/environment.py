"""resolve_environment: scan, plan, fetch every group once (concurrently), write back, report.

Kept apart from the resolver so that the injected fast path (every variable a literal) runs
without building a resolver at all.
"""

from __future__ import annotations

import sys
import time

from ._constants import EnvironmentVariables
from ._log import get_logger
from .errors import (
    AccessDeniedError,
    IdentityUnavailableError,
    NotFoundError,
    SecretInjectionError,
    SecretResolutionError,
    ServiceError,
)
from .references import ConnectionReference, is_reference, reference_excerpt, variable_reference
from .report import ResolutionReport, Source, Status, VariableStatus

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, MutableMapping

    from .engine import FetchEngine, Payload
    from .references import Reference

    Key = tuple[str, ...]
    Outcome = tuple[Payload | SecretInjectionError, float]


def resolve_environment(
    engine: FetchEngine | None,
    names: Iterable[str] | None,
    env: MutableMapping[str, str],
    *,
    write_back: bool,
    required: bool,
    wait_for_access_s: float | None = None,
    engine_factory: Callable[[], FetchEngine] | None = None,
) -> ResolutionReport:
    """Resolve the variables ``names`` (default: every reference) of ``env``; report on each.

    ``engine`` may be None while every variable is a literal: the fast path then builds no
    resolver (``engine_factory`` makes one when a reference turns up).
    """
    started = time.perf_counter()
    written = engine.variables.written_names() if engine is not None else frozenset()
    by_run = resolved_by_run(env)
    if names is None:
        names = [k for k, v in env.items() if k in written or k in by_run or is_reference(v)]
    statuses: dict[str, VariableStatus] = {}
    pending: list[tuple[str, Reference]] = []
    value: str | None = None
    for name in names:
        value = env.get(name)
        if value is None:
            statuses[name] = VariableStatus(name, Status.MISSING, error="not set")
            continue
        try:
            ref = (
                engine.variables.reference_of(name, value)
                if engine
                else variable_reference(name, value)
            )
        except SecretInjectionError as ex:  # never the value: only its ${{...}} part
            statuses[name] = _failed(name, ex.reference or reference_excerpt(value), ex, 0.0)
            continue
        if ref is None:
            source = Source.RUN if name in by_run else Source.INJECTED
            statuses[name] = VariableStatus(name, Status.PRESENT, source)
        else:
            statuses[name] = VariableStatus(name, Status.SERVICE_ERROR, reference=str(ref))
            pending.append((name, ref))
    if pending:
        if engine is None:
            assert engine_factory is not None
            engine = engine_factory()
        wait_s = (
            engine.settings.wait_for_access_s if wait_for_access_s is None else wait_for_access_s
        )
        from . import _tracing

        attributes = {"variables": len(statuses), "references": len(pending)}
        with _tracing.resolve_span(attributes) as span:
            _fetch_pending(engine, pending, statuses, env, write_back, wait_s)
            if span is not None:
                counts = ResolutionReport(statuses.values()).counts()
                span.set_attributes({f"secretinj.status.{k}": n for k, n in counts.items()})
    report = ResolutionReport(statuses.values(), elapsed_ms=(time.perf_counter() - started) * 1000)
    _log_report(report, fetched=bool(pending), raising=required and not report.ok)
    if required and not report.ok:
        del env, value  # the environment holds secrets: keep it out of the traceback
        raise SecretResolutionError(report)
    return report


def resolved_by_run(env: Mapping[str, str]) -> frozenset[str]:
    """Return the names ``secretinj run`` resolved for this process (``SECRETINJ_RESOLVED``)."""
    text = env.get(EnvironmentVariables.RESOLVED, "")
    return frozenset(n.strip() for n in text.split(",") if n.strip())


def _fetch_pending(
    engine: FetchEngine,
    pending: list[tuple[str, Reference]],
    statuses: dict[str, VariableStatus],
    env: MutableMapping[str, str],
    write_back: bool,
    wait_for_access_s: float,
) -> None:
    from .variables import value_of

    groups: dict[Key, Reference] = {}
    for _, ref in pending:
        groups.setdefault(ref.group_key, ref)
    started = time.perf_counter()
    outcomes = fetch_groups(engine, groups)
    if wait_for_access_s > 0:
        _wait_for_access(engine, groups, outcomes, wait_for_access_s, started)
    for name, ref in pending:
        result, elapsed_ms = outcomes[ref.group_key]
        source = Source.CONNECTION if isinstance(ref, ConnectionReference) else Source.KEYVAULT
        if isinstance(result, SecretInjectionError):
            statuses[name] = _failed(name, str(ref), result, elapsed_ms)
            continue
        try:
            value = value_of(ref, result)
            if write_back:
                engine.variables.remember(name, ref, value, env)
        except NotFoundError as ex:
            statuses[name] = _failed(name, str(ref), ex, elapsed_ms)
            continue
        except ValueError:  # os.environ refuses values with NUL characters
            error = ServiceError("the value cannot be stored in the environment (NUL character)")
            statuses[name] = _failed(name, str(ref), error, elapsed_ms)
            continue
        statuses[name] = VariableStatus(name, Status.RESOLVED, source, str(ref), None, elapsed_ms)


def fetch_groups(
    engine: FetchEngine, groups: dict[Key, Reference], *, ignore_failures: bool = False
) -> dict[Key, Outcome]:
    """Fetch each group once, all at the same time; return (payload or error, ms) per group.

    The fetches run in daemon threads and this waits for them interruptibly: a
    ``KeyboardInterrupt`` (or a signal handler's exception) ends the wait at once, and the
    process can exit without waiting for fetches nobody needs any more.
    """
    from . import _tracing

    outcomes: dict[Key, Outcome] = {}
    parent = _tracing.current_context()  # worker threads start with an empty context

    def fetch(key: Key) -> None:
        t0 = time.perf_counter()
        result: Payload | SecretInjectionError
        with _tracing.fetch_span(groups[key], parent) as stats:
            try:
                result = engine.payload(groups[key], ignore_failures=ignore_failures)
            except SecretInjectionError as ex:
                result = ex
            except Exception as ex:  # a bug or a foreign failure: report it, never crash
                get_logger(__name__).debug("unexpected failure fetching %s", key, exc_info=True)
                result = ServiceError(f"unexpected {type(ex).__name__} while fetching")
            if isinstance(result, SecretInjectionError):
                stats.status, stats.code = result.status.value, result.code
        outcomes[key] = (result, (time.perf_counter() - t0) * 1000)

    keys = list(groups)
    if len(keys) == 1:
        fetch(keys[0])
        return outcomes
    import threading

    queue = list(reversed(keys))
    lock = threading.Lock()
    done = threading.Event()

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                key = queue.pop()
            try:
                fetch(key)
            except BaseException as ex:  # never leave the caller waiting for an outcome
                error = ServiceError(f"unexpected {type(ex).__name__} while fetching")
                outcomes.setdefault(key, (error, 0.0))
            finally:
                with lock:
                    if len(outcomes) == len(keys):
                        done.set()

    for i in range(min(engine.settings.max_workers, len(keys))):
        threading.Thread(target=worker, name=f"secretinj-fetch-{i}", daemon=True).start()
    while not done.wait(0.5):  # a bounded wait stays interruptible on every platform
        pass
    return outcomes


def _waiting_for_access(result: object) -> bool:
    """Tell whether a failure may be a role or identity still propagating (403, no identity)."""
    if isinstance(result, AccessDeniedError):
        return result.may_be_propagating
    return isinstance(result, IdentityUnavailableError)


def _wait_for_access(
    engine: FetchEngine,
    groups: dict[Key, Reference],
    outcomes: dict[Key, Outcome],
    wait_s: float,
    started: float,
) -> None:
    """Retry denied groups with backoff until they pass or ``wait_s`` has gone by.

    These retries keep their own schedule: the failure memory does not hold them back.
    """
    import random

    log = get_logger(__name__)
    clock, deadline, delay, attempt = engine.clock, engine.clock() + wait_s, 1.0, 1
    while True:
        denied = {k: groups[k] for k, (r, _) in outcomes.items() if _waiting_for_access(r)}
        remaining = deadline - clock()
        if not denied or remaining <= 0:
            return
        first = outcomes[next(iter(denied))][0]
        pause = min(delay * random.uniform(0.5, 1.0), remaining)  # noqa: S311 - jitter
        log.info(
            "waiting for access: %d of %d fetches refused (%s), attempt %d; retrying in %.1f s, "
            "%.0f s left",
            len(denied),
            len(groups),
            getattr(first, "status", first),
            attempt,
            pause,
            remaining,
        )
        engine.sleep(pause)
        retried = fetch_groups(engine, denied, ignore_failures=True)
        total_ms = (time.perf_counter() - started) * 1000
        outcomes.update({k: (r, total_ms) for k, (r, _) in retried.items()})
        delay, attempt = min(delay * 2, 30.0), attempt + 1


def _failed(
    name: str, reference: str, ex: SecretInjectionError, elapsed_ms: float
) -> VariableStatus:
    tail = f" [{ex.ids}]" if ex.ids else ""
    return VariableStatus(name, ex.status, None, reference, f"{ex.message}{tail}", elapsed_ms)


def _log_report(report: ResolutionReport, *, fetched: bool, raising: bool) -> None:
    """Log the summary line, and one WARNING per failed variable unless an exception says it.

    The fast path does not import logging just to say that everything was present; an
    application that already uses logging (azmlinfsrv does) still gets the summary line. When
    `SecretResolutionError` is about to carry every failure, they are not logged again.
    """
    if not fetched and "logging" not in sys.modules:
        return
    log = get_logger("secretinj_runtime")
    log.info("secret injection: %s", report.summary())
    if raising:
        return
    for status in report.failed:
        where = f" ({status.reference})" if status.reference else ""
        log.warning("%s%s: %s: %s", status.name, where, status.status, status.error)
