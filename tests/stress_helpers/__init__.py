"""Scripts the stress suites run as real subprocesses (crash and concurrency tests)."""
