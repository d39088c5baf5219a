"""Hashing releases the GIL: two threads hash in about half the time one
thread takes for the same work, on two cores. The ratio is taken in one
run against its own serial baseline, median of three rounds."""
import os
import statistics
import threading
import time

import pytest

import prodready as p


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_two_threads_hash_in_parallel():
    h = p.PasswordHasher(time_cost=2, memory_cost=16384, parallelism=1)

    def work(n):
        for i in range(n):
            h.hash(f"pw{i}")

    ratios = []
    for _ in range(3):
        t0 = time.perf_counter()
        work(4)
        serial = time.perf_counter() - t0
        threads = [threading.Thread(target=work, args=(2,)) for _ in range(2)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ratios.append((time.perf_counter() - t0) / serial)
    # Held GIL: the ratio would be 1.0 or more. Released: about 0.5.
    assert statistics.median(ratios) < 0.75, ratios
