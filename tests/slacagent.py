"""Test-side name for host/slacagent.py."""
from host.slacagent import SlacAgent  # noqa: F401
