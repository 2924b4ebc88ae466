"""The profile a command works with: the configured one, or a sandbox started for this run."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def open_profile(args: argparse.Namespace) -> Iterator:
    """Yield the profile named by --profile (or the active one); with --sandbox, a fresh
    sandbox running inside this process for as long as the command runs."""
    from sms_tui import config

    if getattr(args, "sandbox", False):
        from sms_tui import local_sandbox

        sandbox, profile = local_sandbox.start()
        try:
            yield profile
        finally:
            sandbox.stop()
        return
    yield config.resolve_profile(getattr(args, "profile", None))
