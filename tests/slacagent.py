"""Test-side name for host/peers/slacagent.py."""
from host.peers.slacagent import SlacAgent  # noqa: F401
