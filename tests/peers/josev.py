"""Test-side name for host/peers/josev.py (python-iso15118 as a peer)."""
from host.peers.josev import *  # noqa: F401,F403
from host.peers.josev import (  # noqa: F401
    EV_TAP_MAC, EVSE_TAP_MAC, JosevError, JosevEvcc, JosevSecc, SessionResult, evcc_config,
    join_avln, josev_over_wire, josev_vs_josev, run_session, runs, tap_on_wire,
)
