"""Our Evcc and our Secc in one process on a virtual clock, every message
through the EXI codec (decoded, optionally changed by `tamper`, re-encoded
only when changed) and recorded: the in-process pairing the PnC and
CertificateInstallation tests drive."""
import copy

from micro15118.iso20 import msg


def exchange(ev, secc, charger, tamper=None, limit=100000):
    """Run until the EV has ended and nothing is in flight; returns (trace,
    now), trace = [(to, name, body, bytes)].  tamper(to, name, body) may
    return a changed body for a message on its way to `to` ("secc" or "ev")."""
    trace = []
    now = 0
    for _ in range(limit):
        moved = False
        for src, dst, to in ((ev, secc, "secc"), (secc, ev, "ev")):
            while src.out:
                ptype, data = src.out.pop(0)
                name, body = msg.decode(ptype, data)
                if tamper is not None:
                    new = tamper(to, name, copy.deepcopy(body))
                    if new != body:
                        body = new
                        ptype, data = msg.encode(name, body)
                trace.append((to, name, body, data))
                dst.handle(ptype, data, now)
                moved = True
        if ev.ended and not moved:
            break
        if not moved:
            ds = [d for d in (ev.next_deadline(), secc.next_deadline()) if d is not None]
            now = max(now + 1, min(ds)) if ds else now + 10
        ev.poll(now)
        charger.update(now)
        secc.poll(now)
    return trace, now


def flip(data, i=10):
    """data with bit 0 of byte i inverted: the tests' tampering."""
    b = bytearray(data)
    b[i] ^= 0x01
    return bytes(b)
