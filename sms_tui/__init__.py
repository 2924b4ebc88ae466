"""sms-tui: compose and send SMS through the 8x8 SMS API from the terminal."""

__version__ = "0.1.0"
