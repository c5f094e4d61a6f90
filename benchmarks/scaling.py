"""Target computation alone, at two sizes: does it scale linearly? (run by `run.py`)

Times `targetkit.pipeline.targets.compute_targets` on demo primary cohorts (KS1 → KS2: three
subjects per pupil), so `pupil_subjects` / 3 pupils. No file is read or written; the cohort is
made before the clock starts. The best of `repeat` runs is kept.
"""

from __future__ import annotations

import time
from typing import Any


def time_compute(pupil_subjects: int, repeat: int) -> dict[str, Any]:
    from targetkit import demo
    from targetkit.pipeline.targets import compute_targets
    from targetkit.policies import choose_policy, load_policy

    pupils = -(-pupil_subjects // 3)
    cohort = demo.primary_cohort(pupils)
    name, _ = choose_policy(cohort)
    policy = load_policy(name)
    subjects = len(policy.subjects)
    best = best_cpu = float("inf")
    for _ in range(max(repeat, 1)):
        start, start_cpu = time.perf_counter(), time.process_time()
        compute_targets(cohort, policy)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return {
        "pupils": pupils,
        "subjects": subjects,
        "policy": name,
        "seconds": best,
        "cpu_seconds": best_cpu,
    }


def scaling(small: int, large: int, repeat: int) -> dict[str, Any]:
    time_compute(min(small, 3000), 1)  # warm up: load the policy, scales and conversion data
    first = time_compute(small, repeat)
    second = time_compute(large, repeat)
    return {
        "small_pupil_subjects": first["pupils"] * first["subjects"],
        "large_pupil_subjects": second["pupils"] * second["subjects"],
        "policy": first["policy"],
        "small_seconds": first["seconds"],
        "large_seconds": second["seconds"],
        "small_cpu_seconds": first["cpu_seconds"],
        "large_cpu_seconds": second["cpu_seconds"],
    }
