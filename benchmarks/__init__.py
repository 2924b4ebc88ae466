"""Scripts that measure sms-tui and print figures against a baseline; never run as tests."""
