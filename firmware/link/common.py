"""Pieces shared by the charger and vehicle links."""
from slac import keys, mme
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

ETH_HOMEPLUG = const(0x88E1)
ETH_IPV6 = const(0x86DD)
SDP_PORT = const(15118)

# PWM duty cycles in permille (IEC 61851-1): 1000 = no PWM (+12 V DC),
# 50 = 5 %, "digital communication required", 0 = constant -12 V (state F).
DUTY_OFF = const(1000)
DUTY_DIGITAL = const(50)
DUTY_F = const(0)

# ISO 15118-3: the E/F pulse before retrying SLAC, and how often to retry.
T_STEP_EF = const(4000)
C_SEQU_RETRY = const(2)

# A modem restart this soon after our own CM_SET_KEY is the expected one
# (the QCA firmware restarts to apply the key), not a fault.
T_SETKEY_RESTART = const(3000)


def leave_network(host_mac, rng):
    """CM_SET_KEY.REQ with a fresh random key: our modem leaves the AVLN.

    After an unplug nobody may stay on the old logical network (ISO 15118-3
    ends the association with the session); a new key is the only way to
    remove a station from an AVLN."""
    nmk = keys.random_nmk(rng)
    return mme.set_key_req(host_mac, keys.nid_from_nmk(nmk), nmk)


def ethertype(frame):
    if len(frame) < 14:
        return -1
    return (frame[12] << 8) | frame[13]


def is_slac_parm_req(frame):
    # MMV at 14, MMTYPE little-endian at 15..16; CM_SLAC_PARM.REQ = 0x6064
    return len(frame) >= 17 and frame[15] == 0x64 and frame[16] == 0x60


def earliest(*deadlines):
    best = None
    for d in deadlines:
        if d is not None and (best is None or d < best):
            best = d
    return best


class V2gtpStream:
    """One TCP connection carrying V2GTP: reassembles what arrives and
    buffers what the send window cannot take yet."""

    def __init__(self, conn, reader):
        self.conn = conn
        self.reader = reader
        self.pending = bytearray()

    def receive(self):
        data = self.conn.recv()
        if not data:
            return []
        return self.reader.feed(data)

    def queue(self, data):
        self.pending.extend(data)
        self.flush()

    def flush(self):
        if self.pending:
            n = self.conn.send(self.pending)
            if n:
                self.pending = self.pending[n:]
