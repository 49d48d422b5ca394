"""Interleaved repetitions, timing and threads released at once; progress lines.

The machines are shared and noisy: every figure is a median over repetitions interleaved with
the baselines it is compared to, so a slow minute hits both sides. `abba` alternates the order
from one round to the next, `shuffled` draws a new order every round.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def say(message: str) -> None:
    """Print a progress line on stderr."""
    print(f"  {message}", file=sys.stderr, flush=True)


def abba(items: Sequence[T], round_index: int) -> list[T]:
    """``items`` in order on even rounds, reversed on odd ones: A B, B A, A B, B A..."""
    return list(items) if round_index % 2 == 0 else list(reversed(items))


def shuffled(items: Sequence[T], rng: random.Random) -> list[T]:
    """``items`` in a new random order drawn from ``rng``."""
    return [items[i] for i in rng.sample(range(len(items)), len(items))]


def timed_ms(call: Callable[[], T]) -> tuple[T, float]:
    """Call ``call``; return its result and its wall time in milliseconds."""
    t0 = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - t0) * 1000


def release_together(
    count: int, work: Callable[[int], object], *, timeout_s: float, name: str = "worker"
) -> float:
    """Run ``work(0)`` ... ``work(count - 1)`` in threads released at once by a barrier.

    Returns the release time (``time.perf_counter()``) once every thread is done. Raises
    `RuntimeError` when a thread still runs ``timeout_s`` after the start, or when ``work``
    raised (the first error is the cause).
    """
    started: list[float] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(count, action=lambda: started.append(time.perf_counter()))

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as ex:
            errors.append(ex)

    threads = [
        threading.Thread(target=run, args=(i,), name=f"{name}-{i}", daemon=True)
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        raise RuntimeError(f"{name}: threads still running after {timeout_s} s")
    if errors:
        first = errors[0]
        raise RuntimeError(
            f"{name}: {len(errors)} of {count} threads failed, first: {type(first).__name__}: "
            f"{first}"
        ) from first
    return started[0]
