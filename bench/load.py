"""A Python load generator for bench/pages.py: N threads, one keep-alive httpx client each.

Each thread repeats a scenario's step (one or more requests that make one unit, e.g. GET the
dashboard then POST the form) until the time is up, timing each step after the warm-up.
A step raises Unexpected for a wrong answer, which is counted and reported, never timed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


class Unexpected(Exception):
    """An answer the scenario did not expect (wrong status, missing content)."""


class Exhausted(Exception):
    """The scenario ran out of prepared inputs (fresh invitation links): its client stops."""


def expect(response: httpx.Response, status: int, contains: str | None = None) -> httpx.Response:
    if response.status_code != status or (contains is not None and contains not in response.text):
        raise Unexpected(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} (expected {status}"
            f"{f' containing {contains!r}' if contains else ''}): {response.text[:200]!r}"
        )
    return response


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, measured steps only
    window: float = 0.0  # seconds from the end of the warm-up to the last measured step
    errors: list[str] = field(default_factory=list)
    done: int = 0  # successful steps, warm-up included (what the database must show)
    exhausted: bool = False

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.window if self.window else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def drive(
    clients: list[httpx.Client],
    step: Callable[[httpx.Client], None],
    seconds: float,
    warmup: float,
) -> Result:
    """Run `step` on every client in its own thread for warmup + seconds."""
    result, lock = Result(), threading.Lock()
    start = time.perf_counter()
    measure_from, until = start + warmup, start + warmup + seconds
    last_end = [measure_from]

    def loop(client: httpx.Client) -> None:
        latencies, errors, done = [], [], 0
        while (began := time.perf_counter()) < until:
            try:
                step(client)
            except Exhausted:
                result.exhausted = True
                break
            except (Unexpected, httpx.HTTPError) as error:
                errors.append(str(error))
                continue
            ended = time.perf_counter()
            done += 1
            if began >= measure_from:
                latencies.append(ended - began)
        with lock:
            result.latencies += latencies
            result.errors += errors
            result.done += done
            last_end[0] = max(last_end[0], time.perf_counter())

    threads = [threading.Thread(target=loop, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.window = last_end[0] - measure_from
    return result
