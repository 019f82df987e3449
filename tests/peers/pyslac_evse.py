"""Run pyslac (PyPI, SwitchEV) as the EVSE side of SLAC on one interface.

Runs inside its own venv (pyslac pins libraries that clash with iso15118):
    python pyslac_evse.py IFACE TIMEOUT_S
Sets a fresh key in the "local modem" (our modem model on the wire answers),
reports CP state B and waits until pyslac declares the match.  Prints
`PYSLAC MATCHED nid=<hex> nmk=<hex> pev=<mac>` and exits 0, or exits 1.
"""
import asyncio
import logging
import sys
import tempfile

from pyslac.environment import Config
from pyslac.session import STATE_MATCHED, SlacEvseSession, SlacSessionController


async def main(iface, timeout):
    config = Config()
    with tempfile.NamedTemporaryFile(suffix=".env") as empty:   # no .env settings
        config.load_envs(empty.name)
    session = SlacEvseSession("DE*M15*E0001", iface, config)
    await session.evse_set_key()
    print("PYSLAC SET_KEY done", flush=True)
    controller = SlacSessionController()
    await controller.process_cp_state(session, "B")
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if session.state == STATE_MATCHED:
            print("PYSLAC MATCHED nid=%s nmk=%s pev=%s"
                  % (session.nid.hex(), session.nmk.hex(), session.pev_mac.hex(":")), flush=True)
            return 0
        await asyncio.sleep(0.05)
    print("PYSLAC TIMEOUT state=%s" % session.state, flush=True)
    return 1


if __name__ == "__main__":
    logging.basicConfig(level=logging.DEBUG if "-v" in sys.argv else logging.WARNING)
    sys.exit(asyncio.run(main(sys.argv[1], float(sys.argv[2]))))
