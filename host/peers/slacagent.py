"""Run one of our SLAC state machines (CPython) on a Linux interface.

This is what a Linux host with a HomePlug adapter runs to join the charging
AVLN (open-plc-utils and pyslac do the same): here it lets a kernel IP stack
behind a TAP bridge reach our firmware.  The machine talks to the bridge's
modem model through an AF_PACKET socket bound to the TAP inside its netns.
"""
import os
import threading
import time

from micro15118.slac.ev import EvSlac
from micro15118.slac.evse import EvseSlac

from host.peers import tap


class SlacAgent:
    def __init__(self, role, ifname, netns, mac):
        cls = EvseSlac if role == "evse" else EvSlac
        self.machine = cls(mac, rng=os.urandom)
        self.sock = tap.RawSocket(ifname, ethertype=0x88E1, netns=netns)
        self.events = []
        self.matched = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.monotonic()

    def now(self):
        return int((time.monotonic() - self._t0) * 1000)

    def start(self):
        self.machine.start(self.now())
        self.thread.start()
        return self

    def _run(self):
        m = self.machine
        while not self._stop.is_set():
            for frame in m.tx:
                self.sock.write(frame)
            m.tx = []
            if m.events:
                self.events += m.events
                if any(ev[0] == "matched" for ev in m.events):
                    self.matched.set()
                m.events = []
            if self.sock.readable(0.002):
                while True:
                    frame = self.sock.read()
                    if frame is None:
                        break
                    m.handle_frame(frame, self.now())
            m.poll(self.now())

    def stop(self):
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(5)
        self.sock.close()
