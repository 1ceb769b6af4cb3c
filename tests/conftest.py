"""Shared pytest configuration."""

# The committed student submissions are data for tests/test_grading.py, not
# notebooks for nbval to execute (one of them is deliberately not JSON).
collect_ignore = ["submissions", "conftest.py", "browser/conftest.py"]
