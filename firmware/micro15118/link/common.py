"""Pieces shared by the charger and vehicle links."""
from ..slac import keys, mme
from ..compat import const

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

# TCP receive window: two full segments (MSS 1220).  The QCA7000 holds about
# 3 KB of received frames; a larger window lets a fast peer (the kernel) burst
# more than the chip can buffer before we read it, and every drop costs a
# retransmission timeout.
RX_WINDOW = const(2440)

LEAVE_TRIES = const(4)
LEAVE_RETRY_MS = const(500)


class LeaveNetwork:
    """Make our modem leave the AVLN: set a fresh random key until the modem
    confirms with CM_SET_KEY.CNF (a request written while the modem reboots
    is lost), at most LEAVE_TRIES times.

    After an unplug nobody may stay on the old logical network; a new key is
    the only way to remove a station from an AVLN."""

    def __init__(self, host_mac, rng):
        self.host_mac = host_mac
        self.rng = rng
        self.tx = []
        self.frame = None
        self.next = None
        self.tries = 0

    def start(self, now):
        nmk = keys.random_nmk(self.rng)
        self.frame = mme.set_key_req(self.host_mac, keys.nid_from_nmk(nmk), nmk)
        self.tries = 0
        self.next = now

    def stop(self):
        self.next = None

    def next_deadline(self):
        return self.next

    def poll(self, now):
        if self.next is not None and now >= self.next:
            if self.tries >= LEAVE_TRIES:
                self.next = None
                return
            self.tx.append(self.frame)
            self.tries += 1
            self.next = now + LEAVE_RETRY_MS

    def handle_frame(self, frame):
        if self.next is not None and is_set_key_cnf(frame) and bytes(frame[0:6]) == self.host_mac:
            self.next = None


def ethertype(frame):
    if len(frame) < 14:
        return -1
    return (frame[12] << 8) | frame[13]


# MMV at 14, MMTYPE little-endian at 15..16: a look at the type without
# parsing the MME.
def is_slac_parm_req(frame):
    return len(frame) >= 17 and frame[15] == 0x64 and frame[16] == 0x60     # 0x6064


def is_set_key_cnf(frame):
    return len(frame) >= 17 and frame[15] == 0x09 and frame[16] == 0x60     # 0x6009


def random_port(rng):
    """A port in the dynamic range 49152-65535 from two random bytes."""
    r = rng(2)
    return 49152 + (((r[0] << 8) | r[1]) & 0x3FFF)


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
