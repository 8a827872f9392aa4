"""Confidence intervals for the accuracies benchmarks report.

Why Wilson: benchmark samples here are small (tens to a few hundred questions) and accuracies are often near 0 or
1, where the normal-approximation interval is too narrow or leaves [0, 1]; the Wilson score interval does not.
"""

from __future__ import annotations

import math


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % (z = 1.96) Wilson score interval of k successes in n trials; (0, 0) for n = 0."""
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))
