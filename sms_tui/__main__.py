"""Lets `python -m sms_tui` behave exactly like the `sms-tui` command."""

import sys

from sms_tui.cli import main

sys.exit(main())
