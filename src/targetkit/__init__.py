"""targetkit: set, check and track pupil attainment targets from school MIS exports.

The library can be used without the command line; heavy modules (pandas) are imported only
when a function that needs them is called, so `targetkit --help` stays instant.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
