"""Where each screen's stylesheet lives.

app.tcss holds what every screen shares and the compose screen, the first one drawn; every
other screen names its own file in CSS_PATH, which Textual loads when that screen first opens,
so start-up parses only what its first frame needs. The paths are absolute because Textual
resolves a relative CSS_PATH against the file of the class using it, and a subclass (a test, a
benchmark) lives elsewhere.
"""

from pathlib import Path

HERE = Path(__file__).parent
APP = HERE / "app.tcss"
SETUP = HERE / "setup.tcss"
DIALOGS = HERE / "dialogs.tcss"
HISTORY = HERE / "history.tcss"
