"""Hypothesis settings for the bad-input suites: 10,000 examples per target in CI, 500 locally.

CI=true selects the CI profile (derandomized, so a CI failure reproduces; no example database).
The profiles are applied per test with ``@fuzz_settings()`` rather than loaded globally, so the
other test modules keep their own example counts.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
EXAMPLES = 10_000 if IN_CI else 500

settings.register_profile(
    "sms-tui-fuzz-ci",
    max_examples=10_000,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "sms-tui-fuzz-dev",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz_settings(**overrides) -> settings:
    """The profile for this environment, with `overrides` (a smaller count for a slow target)."""
    profile = settings.get_profile("sms-tui-fuzz-ci" if IN_CI else "sms-tui-fuzz-dev")
    return settings(profile, **overrides)
