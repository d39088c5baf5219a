"""Hashing releases the GIL: while one thread is inside a hash, another
Python thread keeps running. This is checked by what the second thread
could do, not by a speed ratio (a ratio of two timings flakes on a loaded
machine): with the GIL held for the whole call, the ticker could not run
at all between the call's start and its return, so the longest pause
between its ticks would cover nearly the whole call."""
import sys
import threading
import time

import prodready as p


def ticks_during(call):
    ticks, done = [], threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0)

    t = threading.Thread(target=ticker)
    t.start()
    while not ticks:           # the ticker runs before the call starts
        time.sleep(0.001)
    start = time.perf_counter()
    call()
    end = time.perf_counter()
    done.set()
    t.join()
    inside = [x for x in ticks if start < x < end]
    edges = [start] + inside + [end]
    longest = max(b - a for a, b in zip(edges, edges[1:]))
    return end - start, longest, len(inside)


def test_the_gil_is_released_while_hashing():
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        # About 0.2-0.5 s a call on this kind of machine: long next to the
        # switch interval and the scheduler's slices.
        h = p.PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
        results = [ticks_during(lambda: h.hash("correct horse")) for _ in range(3)]
    finally:
        sys.setswitchinterval(old)
    # Released: the ticker runs all through the call. Held: one pause of
    # (nearly) the whole call and no ticks inside it. Best of three rounds,
    # so one round descheduled by a busy machine does not decide.
    best = min(longest / duration for duration, longest, _ in results)
    assert best < 0.5, results
    assert max(n for _, _, n in results) > 10, results


def test_the_gil_is_released_while_verifying():
    h = p.PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
    phc = h.hash("correct horse")
    results = [ticks_during(lambda: h.verify(phc, "correct horse")) for _ in range(3)]
    best = min(longest / duration for duration, longest, _ in results)
    assert best < 0.5, results
