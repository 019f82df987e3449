"""The wire process: simulated boards, their modems, the PLC wire and the cable.

    server = WireServer(listen=('127.0.0.1', 0), pcap=None, clock=time.monotonic,
                        loss=0.0, dup=0.0, delay_ms=(0, 0), reorder=0.0, seed=0)
    t = threading.Thread(target=server.run, args=(stop_event,)); t.start()
    server.address          # (host, port) actually bound
    server.plug(); server.unplug(); server.set_impairments(loss=0.2)
    server.wait_for(lambda s: s.client('ev').modem.nid is not None, timeout=5)

    python -m host.bench.wire_server --listen 127.0.0.1:15200 --pcap wire.pcap [--plug]
                               [--tap NAME[:evse|pev]] [--raw IFNAME[:evse|pev]]
                               [--loss P] [--dup P] [--delay LO:HI] [--reorder P] ...

Each firmware process ("simulated board") connects over a stream socket and
speaks the lock-step protocol of docs/link-design.md: every message is
type(1) + length(2, BE) + payload, one request, one reply.  Per board the
server keeps a Modem (host/bench/modem.py) on the shared PlcWire and a
Qca7000Model (host/bench/qca7000_model.py) in front of it, which answers the SPI
transfers.  Chargers and vehicles are paired on cables (firmware/micro15118/pilot.py
CableModel): the n-th charger and the n-th vehicle share cable n.  A cable
is unplugged until plug(n); while unplugged the vehicle end reads state A
without PWM (12 V DC) and PP open, the charger end reads its own output
unloaded (state A, with its PWM if on), and the vehicle's modem is off the
wire (the PLC signal rides on the pilot line).  Bridges (TAP devices or AF_PACKET sockets on a veth
end, host/peers/tap.py) put a kernel stack or another tool (pyslac) behind a
modem of its own, always on the wire.

A board may also have an SE050 on its I2C bus: `se050={"evse": bundle,
"pev": bundle}` gives each board of that role an Se050Model
(host/bench/se050_model.py) provisioned from the bundle (a path, or parsed:
host/pki's DIR/se050/<device>.json, or the model's own object list); the
board's driver reaches it with request T (docs/link-design.md).
`server.se050_stats()` has each model's command counts.

Every public method is thread-safe: the loop holds `lock` while it works
and control calls take it too, then wake the loop.
"""
import argparse
import errno
import json
import selectors
import socket
import struct
import sys
import threading
import time
import traceback

from host.bench.modem import Modem, mac_str
from host.bench.plc_wire import PlcWire
from host.bench.power_path import PowerPath

MODEM_OUI = bytes.fromhex("00b052")
PP_OPEN = 0xFFFFFFFF
MAX_WAIT_S = 0.2          # loop wakes at least this often (stop checks)
BRIDGE_BURST = 64         # frames read from a bridge per wake-up
CHIP_TICK_MS = 10         # chip models drain their write buffer over time
VEHICLE_STATES = ("B", "C", "D", "E")
UNPLUGGED_VEHICLE_READING = (12000, 12000, 1000, PP_OPEN)


def _irq_level(chip):
    v = chip.irq
    if callable(v):
        v = v()
    return 1 if v else 0


def _default_chip_factory(modem, clock):
    from host.bench.qca7000_model import Qca7000Model
    return Qca7000Model(modem, clock)


class ProtocolError(Exception):
    pass


def se050_objects(bundle):
    """The Se050Model objects of a provisioning bundle: host/pki's format
    ({"entries": [{"key": {...}, "cert": {...}}]}: each leaf's key pair,
    usable to sign, its public part readable, and its certificate as a
    readable binary object) or the model's own ([...] / {"objects": [...]})."""
    if isinstance(bundle, (str, bytes)) or hasattr(bundle, "__fspath__"):
        with open(bundle) as f:
            bundle = json.load(f)
    if isinstance(bundle, list) or "objects" in bundle:
        return bundle
    objects = []
    for e in bundle.get("entries", []):
        key = e.get("key") or {}
        if key.get("se050_supported", True) and key.get("private_key"):
            objects.append({"object_id": key["object_id"], "curve": key["curve"],
                            "private_key_hex": key["private_key"], "policy": ["sign", "read"]})
        cert = e.get("cert")
        if cert and cert.get("der"):
            objects.append({"object_id": cert["object_id"], "data_hex": cert["der"],
                            "policy": ["read"]})
    return objects


def _se050_model(bundle, clock):
    from host.bench.se050_model import Se050Model
    chip = Se050Model(clock=clock)
    chip.load_bundle(se050_objects(bundle))
    return chip


class Cable:
    def __init__(self, index, pp_ohms, now_ms=0):
        from micro15118.sim.cable import CableModel
        self.index = index
        self.model = CableModel(pp_ohms=pp_ohms)
        self.power = PowerPath(now_ms)       # the DC/AC power path both ends read
        self.charger = None
        self.vehicle = None
        self.plugged = False
        self.vehicle_state = "B"     # what the vehicle switched in (R2 at least)

    def apply(self):
        self.model.set_vehicle(self.vehicle_state if self.plugged else "A")

    def read(self, end="charger"):
        if end == "vehicle" and not self.plugged:
            # An unplugged inlet sees no charger: report plain state A, no PWM.
            return UNPLUGGED_VEHICLE_READING
        high, low, duty = self.model.read()
        pp = self.model.pp()
        return high, low, duty, (PP_OPEN if pp is None else int(pp))


class Client:
    """One simulated board connection."""

    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.name = None
        self.role = None          # 'evse' | 'pev'
        self.host_mac = None
        self.modem = None
        self.chip = None
        self.se050 = None         # Se050Model on the board's I2C bus, or None
        self.cable = None
        self.requests = 0

    def info(self):
        m = self.modem
        return {"name": self.name, "role": self.role, "host_mac": mac_str(self.host_mac),
                "modem_mac": mac_str(m.mac) if m else None,
                "ready": m.ready if m else None,
                "nid": m.nid.hex() if m and m.nid else None,
                "resets": m.resets if m else None,
                "link": m.link_status() if m else None,
                "cable": self.cable.index if self.cable else None,
                "requests": self.requests}


class Bridge:
    """A TAP device or raw socket whose frames go through a modem of its own."""

    def __init__(self, kind, name, dev, modem):
        self.kind = kind
        self.name = name
        self.dev = dev
        self.modem = modem
        self.rx = 0
        self.tx = 0
        self.errors = 0

    def info(self):
        m = self.modem
        return {"kind": self.kind, "name": self.name, "modem_mac": mac_str(m.mac),
                "host_mac": mac_str(m.host_mac), "nid": m.nid.hex() if m.nid else None,
                "rx": self.rx, "tx": self.tx, "errors": self.errors}


class WireServer:
    def __init__(self, listen=("127.0.0.1", 0), pcap=None, clock=time.monotonic,
                 pp_ohms=220, boot_ms=100, atten_db=20, setkey_result_ok=0x00,
                 chip_factory=None, couple_on_plug=True, log=None, se050=None, **impairments):
        self.clock = clock
        roles = {"charger": "evse", "vehicle": "pev"}
        self.se050_bundles = {roles.get(k, k): v for k, v in (se050 or {}).items()}
        self.se050_models = {}       # board name -> Se050Model (kept after the board left)
        seed = impairments.get("seed", 0)
        self.seed = seed
        self.wire = PlcWire(pcap=pcap, **impairments)
        self.pp_ohms = pp_ohms
        self.boot_ms = boot_ms
        self.atten_db = atten_db
        self.setkey_result_ok = setkey_result_ok
        self.couple_on_plug = couple_on_plug
        self.chip_factory = chip_factory or _default_chip_factory
        self.log = log
        self.trace_errors = True     # print tracebacks of model errors to stderr
        self.lock = threading.RLock()
        self.clients = []
        self.bridges = []
        self.cables = []
        self.stats_counters = {"accepted": 0, "closed": 0, "bad": 0, "errors": 0, "requests": 0}
        self._modem_seq = 0
        self._sel = selectors.DefaultSelector()
        self._lsock = socket.socket(socket.AF_INET6 if ":" in listen[0] else socket.AF_INET,
                                    socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind(listen)
        self._lsock.listen(16)
        self._lsock.setblocking(False)
        self.address = self._lsock.getsockname()[:2]
        self._sel.register(self._lsock, selectors.EVENT_READ, ("listen", None))
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._stop = threading.Event()
        self._closed = False

    # -- time ----------------------------------------------------------------
    def now(self):
        return int(self.clock() * 1000)

    def _log(self, msg):
        if self.log is not None:
            self.log(msg)

    # -- loop ----------------------------------------------------------------
    def run(self, stop_event=None):
        """Serve until stop_event (a threading.Event) is set or stop() is called."""
        stop = stop_event or self._stop
        try:
            while not stop.is_set() and not self._stop.is_set():
                with self.lock:
                    timeout = self._timeout()
                events = self._sel.select(timeout)
                with self.lock:
                    try:
                        for key, mask in events:
                            self._dispatch(key, mask)
                        self._tick(self.now())
                    except Exception:        # a model bug must not stop the wire
                        self.stats_counters["errors"] += 1
                        traceback.print_exc()
        finally:
            self.close()

    def serve_forever(self):
        try:
            self.run()
        except KeyboardInterrupt:
            pass

    def stop(self):
        self._stop.set()
        self._wake()

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass

    def _timeout(self):
        now = self.now()
        deadlines = [self.wire.next_deadline()]
        for m in self._modems():
            deadlines.append(m.next_deadline())
        for c in self.clients:
            if c.chip is None:
                continue
            nd = getattr(c.chip, "next_deadline", None)
            if nd is not None:
                deadlines.append(nd())
            else:                 # a chip without timers it tells us about: look often
                deadlines.append(now + CHIP_TICK_MS)
        deadlines = [d for d in deadlines if d is not None]
        if any(b.modem.to_host for b in self.bridges):
            return 0
        if not deadlines:
            return MAX_WAIT_S
        return max(0.0, min(MAX_WAIT_S, (min(deadlines) - now) / 1000.0))

    def _modems(self):
        return [c.modem for c in self.clients if c.modem is not None] + \
            [b.modem for b in self.bridges]

    def _tick(self, now):
        """Run every timer that is due and move frames along; repeat until quiet."""
        for _ in range(8):
            for m in self._modems():
                m.poll(now)
            moved = self.wire.poll(now)
            for c in self.clients:
                if c.chip is None:
                    continue
                poll = getattr(c.chip, "poll", None)
                if poll is not None:
                    poll(now)
                else:
                    _irq_level(c.chip)   # the chip model catches up when its line is looked at
            for b in self.bridges:
                moved += self._flush_bridge(b)
            if not moved:
                break

    def _dispatch(self, key, mask):
        kind, obj = key.data
        if kind == "listen":
            self._accept()
        elif kind == "wake":
            try:
                while self._wake_r.recv(256):
                    pass
            except (BlockingIOError, OSError):
                pass
        elif kind == "client":
            if mask & selectors.EVENT_READ:
                self._client_read(obj)
            if mask & selectors.EVENT_WRITE and obj.sock is not None:
                self._client_flush(obj)
        elif kind == "bridge":
            self._bridge_read(obj)

    # -- clients -------------------------------------------------------------
    def _accept(self):
        try:
            sock, addr = self._lsock.accept()
        except (BlockingIOError, OSError):
            return
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = Client(sock, addr)
        self.clients.append(c)
        self.stats_counters["accepted"] += 1
        self._sel.register(sock, selectors.EVENT_READ, ("client", c))

    def _client_read(self, c):
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop_client(c)
            return
        if self._feed(c, data):
            self._client_flush(c)
        else:
            self._drop_client(c)

    def _feed(self, c, data):
        """Parse requests from `data`, queue the replies; False: drop the client."""
        c.inbuf += data
        try:
            while len(c.inbuf) >= 3:
                n = (c.inbuf[1] << 8) | c.inbuf[2]
                if len(c.inbuf) < 3 + n:
                    break
                mtype = bytes(c.inbuf[0:1])
                payload = bytes(c.inbuf[3:3 + n])
                del c.inbuf[:3 + n]
                reply_type, reply = self._request(c, mtype, payload)
                c.outbuf += reply_type + struct.pack(">H", len(reply)) + reply
        except ProtocolError as e:
            self.stats_counters["bad"] += 1
            self._log("client %s: %s" % (c.name or c.addr, e))
            return False
        except Exception:                    # a model bug: lose the board, not the server
            self.stats_counters["errors"] += 1
            if self.trace_errors:
                traceback.print_exc()
            return False
        return True

    def _client_flush(self, c):
        if c.outbuf:
            try:
                sent = c.sock.send(c.outbuf)
                del c.outbuf[:sent]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self._drop_client(c)
                return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.outbuf else 0)
        self._sel.modify(c.sock, events, ("client", c))

    def _drop_client(self, c):
        if c.sock is None:
            return
        try:
            self._sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        c.sock = None
        self.stats_counters["closed"] += 1
        if c in self.clients:
            self.clients.remove(c)
        if c.modem is not None:
            self.wire.detach(c.modem)
        cable = c.cable
        if cable is not None:
            if cable.charger is c:
                cable.charger = None
                cable.model.set_charger(1000)
            if cable.vehicle is c:
                cable.vehicle = None
                cable.vehicle_state = "B"
                cable.apply()

    def _request(self, c, mtype, payload):
        c.requests += 1
        self.stats_counters["requests"] += 1
        now = self.now()
        if mtype == b"H":
            return b"h", self._hello(c, payload, now)
        if c.modem is None:
            raise ProtocolError("request %r before hello" % mtype)
        if mtype == b"S":
            self._tick(now)
            miso = bytes(c.chip.transfer(payload))
            if len(miso) != len(payload):
                raise ProtocolError("chip answered %d bytes for %d" % (len(miso), len(payload)))
            self._tick(now)
            return b"s", bytes((_irq_level(c.chip),)) + miso
        if mtype == b"I":
            if payload:
                raise ProtocolError("I takes no payload")
            self._tick(now)
            return b"i", bytes((_irq_level(c.chip),))
        if mtype == b"P":
            self._pilot_set(c, payload)
            return b"p", b""
        if mtype == b"Q":
            if payload:
                raise ProtocolError("Q takes no payload")
            high, low, duty, pp = c.cable.read("vehicle" if c.role == "pev" else "charger")
            return b"q", struct.pack(">hhHI", high, low, duty, pp)
        if mtype == b"W":
            return b"w", self._power(c, payload, now)
        if mtype == b"T":
            return b"t", self._i2c(c, payload)
        raise ProtocolError("unknown request type %r" % mtype)

    def _i2c(self, c, payload):
        """The board's I2C bus: W + addr + bytes (a write), R + addr + n (2,
        BE) (a read); the reply's first byte is 0 or the errno of the
        target's NACK (ENODEV: no device, or busy), a read's bytes follow."""
        if len(payload) < 2 or payload[0:1] not in (b"W", b"R"):
            raise ProtocolError("I2C request must be W + addr + data or R + addr + n")
        addr = payload[1]
        chip = c.se050
        try:
            if chip is None:
                raise OSError(errno.ENODEV, "no device on the bus")
            if payload[0:1] == b"W":
                chip.writeto(addr, payload[2:])
                return b"\x00"
            if len(payload) != 4:
                raise ProtocolError("I2C read takes addr + n (2)")
            buf = bytearray((payload[2] << 8) | payload[3])
            chip.readfrom_into(addr, buf)
            return b"\x00" + bytes(buf)
        except OSError as e:
            return bytes(((e.errno or errno.EIO) & 0xFF,))

    def se050_stats(self):
        """{board name: the SE050 model's stats} of every board that had one."""
        with self.lock:
            return {name: json.loads(json.dumps(chip.stats)) for name, chip in self.se050_models.items()}

    def _power(self, c, payload, now):
        """The power path of the board's cable: the charger drives its output
        stage, the vehicle its pack and contactor (docs/link-design.md)."""
        path = c.cable.power
        op, args = payload[:1], payload[1:]
        try:
            if c.role == "evse":
                if op == b"C" and len(args) == 1:
                    return bytes((1 if path.contactor(bool(args[0]), now) else 0,))
                if op == b"T" and len(args) == 16:
                    path.dc_target(*struct.unpack(">dd", args), now)
                    return b""
                if op == b"A" and len(args) == 8:
                    path.ac_power(struct.unpack(">d", args)[0], now)
                    return b""
                if op == b"N" and not args:
                    ok = path.insulation_check(now)
                    return bytes((2 if ok is None else 1 if ok else 0,))
                if op == b"R" and not args:
                    return struct.pack(">ddddd", *(path.present(now) + path.meter(now)))
            else:
                if op == b"K" and len(args) == 32:
                    path.declare_pack(*struct.unpack(">dddd", args), now)
                    return b""
                if op == b"c" and len(args) == 1:
                    path.ev_contactor(bool(args[0]), now)
                    return b""
                if op == b"r" and not args:
                    return struct.pack(">ddddd", *path.pack_reading(now))
        except (ValueError, OverflowError) as e:
            raise ProtocolError("power %r: %s" % (op, e))
        raise ProtocolError("bad power request %r (%d bytes) from a %s" % (op, len(args), c.role))

    def _hello(self, c, payload, now):
        if c.modem is not None:
            raise ProtocolError("second hello")
        if len(payload) < 7 or payload[0:1] not in (b"E", b"V"):
            raise ProtocolError("bad hello")
        role = "evse" if payload[0:1] == b"E" else "pev"
        host_mac = payload[1:7]
        try:
            name = payload[7:].decode("utf-8")
        except UnicodeError:
            raise ProtocolError("hello name is not utf-8")
        c.role = role
        c.host_mac = host_mac
        c.name = self._unique_name(name or ("evse" if role == "evse" else "ev"))
        c.modem = Modem(self._modem_mac(host_mac), role, self.wire, host_mac=host_mac,
                        boot_ms=self.boot_ms, setkey_result_ok=self.setkey_result_ok,
                        seed=self.seed + 1000 + len(self.clients) + self._modem_seq,
                        atten_db=self.atten_db)
        c.chip = self.chip_factory(c.modem, self.clock)
        bundle = self.se050_bundles.get(role)
        if bundle is not None:
            c.se050 = _se050_model(bundle, self.clock)
            self.se050_models[c.name] = c.se050
        c.cable = self._assign_cable(c)
        if role == "pev" and self.couple_on_plug and not c.cable.plugged:
            self.wire.detach(c.modem)
        self._log("board %s (%s) host %s modem %s cable %d" % (
            c.name, role, mac_str(host_mac), mac_str(c.modem.mac), c.cable.index))
        return c.modem.mac

    def _unique_name(self, name):
        taken = {x.name for x in self.clients} | {b.name for b in self.bridges}
        if name not in taken:
            return name
        i = 2
        while "%s#%d" % (name, i) in taken:
            i += 1
        return "%s#%d" % (name, i)

    def _modem_mac(self, host_mac=None):
        """00:B0:52 + the host MAC's last 3 bytes, made unique on the wire."""
        self._modem_seq += 1
        used = {m.mac for m in self._modems()}
        tail = bytes(host_mac[3:6]) if host_mac else bytes((0xFE, 0, self._modem_seq & 0xFF))
        mac = MODEM_OUI + tail
        n = 0
        while mac in used or mac == bytes.fromhex("00b052000001"):
            n += 1
            mac = MODEM_OUI + bytes((tail[0], tail[1], (tail[2] + n) & 0xFF))
        return mac

    def _assign_cable(self, c):
        slot = "charger" if c.role == "evse" else "vehicle"
        for cable in self.cables:
            if getattr(cable, slot) is None:
                break
        else:
            cable = self._cable(len(self.cables))
        setattr(cable, slot, c)
        if slot == "vehicle":
            cable.vehicle_state = "B"
            cable.apply()
        return cable

    def _cable(self, index):
        while len(self.cables) <= index:
            self.cables.append(Cable(len(self.cables), self.pp_ohms, self.now()))
        return self.cables[index]

    def power(self, cable=0):
        """A snapshot of a cable's power path (meter, pack, contactors, events)."""
        with self.lock:
            return self._cable(cable).power.snapshot(self.now())

    def _pilot_set(self, c, payload):
        cable = c.cable
        if c.role == "evse":
            if len(payload) != 3 or payload[0:1] != b"D":
                raise ProtocolError("charger pilot set must be D + duty(2)")
            duty = (payload[1] << 8) | payload[2]
            if duty > 1000:
                raise ProtocolError("duty %d > 1000" % duty)
            cable.model.set_charger(duty)
        else:
            if len(payload) != 2 or payload[0:1] != b"S":
                raise ProtocolError("vehicle pilot set must be S + state")
            state = chr(payload[1])
            if state not in VEHICLE_STATES:
                raise ProtocolError("vehicle state %r" % state)
            cable.vehicle_state = state
            cable.apply()

    # -- bridges -------------------------------------------------------------
    def add_bridge(self, kind, name, role="evse", atten_db=None, dev=None):
        """Bridge a TAP device ('tap') or an existing interface ('raw') onto the wire."""
        if role not in ("evse", "pev"):
            raise ValueError("role must be 'evse' or 'pev'")
        if dev is None:
            from host.peers import tap
            if kind == "tap":
                dev = tap.Tap(name)
                tap.link_up(dev.name)        # usable at once by the kernel side
            elif kind == "raw":
                dev = tap.RawSocket(name)
            else:
                raise ValueError("bridge kind must be 'tap' or 'raw'")
        with self.lock:
            modem = Modem(self._modem_mac(), role, self.wire, boot_ms=self.boot_ms,
                          setkey_result_ok=self.setkey_result_ok,
                          seed=self.seed + 500 + len(self.bridges),
                          atten_db=self.atten_db if atten_db is None else atten_db)
            b = Bridge(kind, self._unique_name(name), dev, modem)
            self.bridges.append(b)
            self._sel.register(dev.fileno(), selectors.EVENT_READ, ("bridge", b))
        self._wake()
        return b

    def remove_bridge(self, name):
        with self.lock:
            b = self._bridge(name)
            self.bridges.remove(b)
            self.wire.detach(b.modem)
            try:
                self._sel.unregister(b.dev.fileno())
            except (KeyError, ValueError):
                pass
            b.dev.close()

    def _bridge_read(self, b):
        for _ in range(BRIDGE_BURST):    # devices are non-blocking: read what is there
            try:
                frame = b.dev.read()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                b.errors += 1
                self._log("bridge %s: %s" % (b.name, e))
                return
            if not frame:
                return
            b.rx += 1
            b.modem.from_host(frame, self.now())

    def _flush_bridge(self, b):
        frames = b.modem.to_host
        if not frames:
            return 0
        b.modem.to_host = []
        for f in frames:
            try:
                b.dev.write(f)
                b.tx += 1
            except OSError as e:
                b.errors += 1
                self._log("bridge %s: %s" % (b.name, e))
        return len(frames)

    # -- control (thread-safe) -----------------------------------------------
    def _control(self, fn, *args):
        with self.lock:
            result = fn(*args)
            self._tick(self.now())
        self._wake()
        return result

    def plug(self, cable=0):
        def do():
            cb = self._cable(cable)
            cb.plugged = True
            cb.apply()
            cb.power.plug(True, self.now())
            if cb.vehicle is not None and cb.vehicle.modem is not None and self.couple_on_plug:
                self.wire.attach(cb.vehicle.modem, self.atten_db)
        self._control(do)

    def unplug(self, cable=0):
        def do():
            cb = self._cable(cable)
            cb.plugged = False
            cb.vehicle_state = "B"
            cb.apply()
            cb.power.plug(False, self.now())
            if cb.vehicle is not None and cb.vehicle.modem is not None and self.couple_on_plug:
                self.wire.detach(cb.vehicle.modem)
        self._control(do)

    def set_duty(self, duty_permille, cable=0):
        """Drive the charger end of a cable (for a charger that is not a board, e.g. pyslac)."""
        self._control(lambda: self._cable(cable).model.set_charger(duty_permille))

    def set_vehicle_state(self, state, cable=0):
        """Switch the vehicle end's resistors (B/C/D/E) for a vehicle that is not a board."""
        if state not in VEHICLE_STATES:
            raise ValueError("vehicle state must be one of %s" % (VEHICLE_STATES,))

        def do():
            cb = self._cable(cable)
            cb.vehicle_state = state
            cb.apply()
        self._control(do)

    def pilot(self, cable=0, end="charger"):
        """(high_mv, low_mv, duty, pp_ohms) of a cable as one end reads it."""
        with self.lock:
            return self._cable(cable).read(end)

    def set_impairments(self, **kw):
        self._control(lambda: self.wire.set_impairments(**kw))

    def set_atten(self, name, atten_db):
        self._control(lambda: self.wire.set_atten(self._endpoint(name).modem, atten_db))

    def set_path_atten(self, a, b, atten_db):
        self._control(lambda: self.wire.set_path_atten(
            self._endpoint(a).modem, self._endpoint(b).modem, atten_db))

    def reset_modem(self, name):
        self._control(lambda: self._endpoint(name).modem.reset(self.now()))

    def link_loss(self, name, ms):
        self._control(lambda: self._endpoint(name).modem.link_loss(ms, self.now()))

    def forget_key(self, name):
        self._control(lambda: self._endpoint(name).modem.forget_key(self.now()))

    def chip_fault(self, name, fault, *args, **kw):
        """Call a fault-injection method of a board's chip model by name."""
        return self._control(lambda: getattr(self.client(name).chip, fault)(*args, **kw))

    def client(self, name):
        with self.lock:
            for c in self.clients:
                if c.name == name:
                    return c
        raise KeyError("no board named %r" % name)

    def _bridge(self, name):
        for b in self.bridges:
            if b.name == name:
                return b
        raise KeyError("no bridge named %r" % name)

    def _endpoint(self, name):
        for c in self.clients:
            if c.name == name:
                return c
        return self._bridge(name)

    def wait_for(self, predicate, timeout=5.0, interval=0.005):
        """Wait until predicate(server) is true (checked under the lock)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if predicate(self):
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def stats(self):
        with self.lock:
            return {"wire": dict(self.wire.counters),
                    "impairments": self.wire.impairments(),
                    "server": dict(self.stats_counters),
                    "clients": [c.info() for c in self.clients],
                    "bridges": [b.info() for b in self.bridges],
                    "cables": [{"index": cb.index, "plugged": cb.plugged,
                                "charger": cb.charger.name if cb.charger else None,
                                "vehicle": cb.vehicle.name if cb.vehicle else None,
                                "pilot": cb.read()} for cb in self.cables]}

    def close(self):
        with self.lock:
            if self._closed:
                return
            self._closed = True
            for c in list(self.clients):
                self._drop_client(c)
            for b in list(self.bridges):
                try:
                    self._sel.unregister(b.dev.fileno())
                except (KeyError, ValueError, OSError):
                    pass
                try:
                    b.dev.close()
                except OSError:
                    pass
            self.bridges = []
            for s in (self._lsock, self._wake_r, self._wake_w):
                try:
                    self._sel.unregister(s)
                except (KeyError, ValueError):
                    pass
                s.close()
            self._sel.close()
            self.wire.close()


# -- CLI ---------------------------------------------------------------------

def _hostport(text):
    host, _, port = text.rpartition(":")
    return (host.strip("[]") or "127.0.0.1", int(port))


def _bridge_arg(text):
    name, _, role = text.partition(":")
    return name, (role or "evse")


def _delay(text):
    lo, _, hi = text.partition(":")
    return (int(lo), int(hi or lo))


COMMANDS = """commands (one per line on stdin):
  plug [N] | unplug [N] | loss P | dup P | reorder P | delay LO:HI
  reset NAME | linkloss NAME MS | forgetkey NAME | stats | quit"""


def _command(server, line):
    words = line.split()
    if not words:
        return True
    cmd, args = words[0], words[1:]
    if cmd == "plug":
        server.plug(int(args[0]) if args else 0)
    elif cmd == "unplug":
        server.unplug(int(args[0]) if args else 0)
    elif cmd in ("loss", "dup", "reorder"):
        server.set_impairments(**{cmd: float(args[0])})
    elif cmd == "delay":
        server.set_impairments(delay_ms=_delay(args[0]))
    elif cmd == "reset":
        server.reset_modem(args[0])
    elif cmd == "linkloss":
        server.link_loss(args[0], int(args[1]))
    elif cmd == "forgetkey":
        server.forget_key(args[0])
    elif cmd == "stats":
        print(server.stats(), flush=True)
    elif cmd == "quit":
        return False
    else:
        print(COMMANDS, flush=True)
    return True


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m host.bench.wire_server",
                                description="Virtual PLC wire for simulated boards.",
                                epilog=COMMANDS, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", type=_hostport, default=("127.0.0.1", 15200),
                   help="HOST:PORT to listen on (port 0: any free port)")
    p.add_argument("--pcap", help="write every frame on the wire to this pcap file")
    p.add_argument("--tap", action="append", default=[], type=_bridge_arg,
                   help="create TAP NAME[:evse|pev] and bridge it through a modem")
    p.add_argument("--raw", action="append", default=[], type=_bridge_arg,
                   help="bridge an existing interface IFNAME[:evse|pev] (AF_PACKET)")
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--dup", type=float, default=0.0)
    p.add_argument("--reorder", type=float, default=0.0)
    p.add_argument("--delay", type=_delay, default=(0, 0), help="LO:HI milliseconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pp", type=int, default=220, help="PP resistor of the cables (ohms)")
    p.add_argument("--atten", type=int, default=20, help="attenuation of each port (dB)")
    p.add_argument("--boot-ms", type=int, default=100, help="modem restart time")
    p.add_argument("--setkey-result", type=lambda s: int(s, 0), default=0,
                   help="Result byte of CM_SET_KEY.CNF on success (QCA firmware: 1)")
    p.add_argument("--plug", action="store_true", help="plug cable 0 in at start")
    p.add_argument("--commands", action="store_true", help="read commands from stdin")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if a.verbose else None
    server = WireServer(a.listen, pcap=a.pcap, pp_ohms=a.pp, atten_db=a.atten,
                        boot_ms=a.boot_ms, setkey_result_ok=a.setkey_result, log=log,
                        loss=a.loss, dup=a.dup, reorder=a.reorder, delay_ms=a.delay,
                        seed=a.seed)
    for name, role in a.tap:
        server.add_bridge("tap", name, role)
    for name, role in a.raw:
        server.add_bridge("raw", name, role)
    if a.plug:
        server.plug(0)
    host, port = server.address
    print("listening on %s:%d" % (host, port), flush=True)
    stop = threading.Event()
    if a.commands:
        def reader():
            for line in sys.stdin:
                try:
                    if not _command(server, line):
                        break
                except (ValueError, IndexError, KeyError) as e:
                    print("error: %s" % e, flush=True)
            stop.set()
            server.stop()
        threading.Thread(target=reader, daemon=True).start()
    try:
        server.run(stop)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
