"""The safety envelope of the charger's output (pure logic, no I/O).

Every power command of the session passes through `iso20.charger.Charger`
(`dc_target`, `ac_power`, `contactor`), which clamps it here before it
reaches the power electronics.  The envelope holds what the session has
agreed with the EV; the charger's own limits, setpoint and schedule are
read at every command (they may change at any time):

* output voltage <= min(charger dc_max_voltage, the EV's EVMaximumVoltage
  from ChargeParameterDiscovery, a lower one from the latest loop request);
* charge current / power <= the smallest of the charger's limits, the EV's
  (ChargeParameterDiscovery and the latest loop request), the schedule's
  power and the charger's setpoint;
* discharge (negative current / power) only with a BPT service, in the
  Discharge channel (BPT_ChannelSelection of PowerDelivery Start) and within
  both sides' discharge limits;
* nothing (0 V, 0 A, 0 W) before the session has set the envelope
  (`set_ev`, at ChargeParameterDiscovery); no current or power outside
  PowerDelivery Start .. Stop/Standby (`start`, `hold`); nothing at all
  after `close` (PowerDelivery Stop, FAILED, emergency stop, session end).

Values are in V, A, W; + charges the EV, - discharges it; the EV's limits
are given positive (discharge ones too).  Anything that is not a finite
number (NaN, inf, None) counts as 0: the envelope never lets it through.
`last` says what the latest command had clamped: a dict with the keys
'voltage', 'current', 'power', 'discharge' (each (asked, allowed)) that
applied, so a state handler can set its *LimitAchieved flags.
"""

_INF = float("inf")


def num(x):
    """x as a finite float; 0.0 for NaN, infinities and non-numbers."""
    try:
        x = float(x)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    if x != x or x == _INF or x == -_INF:
        return 0.0
    return x


def lim(x):
    """A limit: a finite number >= 0 (anything else allows nothing)."""
    x = num(x)
    return x if x > 0 else 0.0


# power comparisons allow for the rounding of p / v * v
_EPS = 1e-9
# a measured output voltage that held within 1 V this long is the battery's
STEADY_MS = 100


class Envelope:
    def __init__(self):
        self.last = {}
        self.reset()

    # --- the session sets it ----------------------------------------------
    def reset(self):
        """Nothing allowed (before ChargeParameterDiscovery, after the end)."""
        self.ready = False
        self.is_dc = True
        self.bpt = False
        self.ev = {}            # EV limits from ChargeParameterDiscovery: v i p di dp
        self.loop = {}          # lower ones from the latest loop request
        self.energy = False     # current may flow (PowerDelivery Start)
        self.discharge = False  # discharge allowed (BPT, Discharge channel)
        self.v_seen = 0.0       # the measured voltage, held within 1 V
        self.t_seen = 0         # since (ms)

    close = reset

    def set_ev(self, dc, bpt, v=0, i=0, p=0, di=0, dp=0):
        """The EV's limits agreed in ChargeParameterDiscovery (discharge
        positive; ignored without BPT).  Starts with no current."""
        self.reset()
        self.ready = True
        self.is_dc = bool(dc)
        self.bpt = bool(bpt)
        self.ev = {"v": lim(v) if dc else 0.0, "i": lim(i) if dc else 0.0, "p": lim(p),
                   "di": lim(di) if (dc and bpt) else 0.0, "dp": lim(dp) if bpt else 0.0}

    def set_loop(self, v=None, i=None, p=None, di=None, dp=None):
        """The EV's limits in the latest loop request (None: not given).
        They only ever lower the ChargeParameterDiscovery ones."""
        loop = {}
        for k, x in (("v", v), ("i", i), ("p", p), ("di", di), ("dp", dp)):
            if x is not None:
                loop[k] = lim(x)
        self.loop = loop

    def start(self, discharge=False):
        """PowerDelivery Start: current may flow; discharge only if asked
        for (Discharge channel) on a BPT service."""
        if self.ready:
            self.energy = True
            self.discharge = bool(discharge) and self.bpt

    def hold(self):
        """Standby / schedule renegotiation: no current, the voltage stays."""
        self.energy = False
        self.discharge = False

    # --- what is allowed now ----------------------------------------------
    def ev_limit(self, k):
        x = self.ev.get(k, 0.0)
        y = self.loop.get(k)
        return x if y is None or y > x else y

    def bounds(self, limits, setpoint=None, schedule_w=None):
        """{'v': max V, 'i': charge A, 'p': charge W, 'di': discharge A,
        'dp': discharge W} allowed now, all >= 0."""
        if not self.ready:
            return {"v": 0.0, "i": 0.0, "p": 0.0, "di": 0.0, "dp": 0.0}
        L = limits
        b = {"v": 0.0, "i": 0.0, "di": 0.0}
        if self.is_dc:
            b["v"] = min(lim(L["dc_max_voltage"]), self.ev_limit("v"))
            b["i"] = min(lim(L["dc_max_charge_current"]), self.ev_limit("i"))
            b["di"] = min(lim(L["dc_max_discharge_current"]), self.ev_limit("di"))
            pre = "dc_"
        else:
            pre = "ac_"
        b["p"] = min(lim(L[pre + "max_charge_power"]), self.ev_limit("p"))
        b["dp"] = min(lim(L[pre + "max_discharge_power"]), self.ev_limit("dp"))
        if schedule_w is not None:
            b["p"] = min(b["p"], abs(num(schedule_w)))
        if setpoint is not None:
            sp = num(setpoint)
            if sp >= 0:
                b["p"] = min(b["p"], sp)
                b["dp"] = 0.0
            else:
                b["dp"] = min(b["dp"], -sp)
                b["p"] = 0.0
        if not self.energy:
            b["i"] = b["p"] = b["di"] = b["dp"] = 0.0
        if not (self.bpt and self.discharge):
            b["di"] = b["dp"] = 0.0
        return b

    # --- clamping -----------------------------------------------------------
    def dc(self, voltage, current, v_measured, limits, setpoint=None, schedule_w=None, flowing=True, now=0):
        """(voltage, current) clamped.  Power -> current uses `v_measured`,
        the charger's own output voltage: while current flows the EV's
        battery holds the output there.  Before current flows (`flowing`
        False), or until the measurement has held within 1 V for
        STEADY_MS (`now`, ms; no battery holds an output that moves), it may
        go on to the setpoint, so the higher of the two counts; at ~0 V the
        envelope's maximum does."""
        b = self.bounds(limits, setpoint, schedule_w)
        last = {}
        v = num(voltage)
        i = num(current)
        if v > b["v"]:
            last["voltage"] = (v, b["v"])
            v = b["v"]
        if v < 0:
            v = 0.0
        if i > b["i"]:
            last["current"] = (i, b["i"])
            i = b["i"]
        elif i < 0 and -i > b["di"]:
            last["discharge" if not self.discharge else "current"] = (i, -b["di"])
            i = -b["di"]
        vr = num(v_measured)
        if not -1 <= vr - self.v_seen <= 1:
            self.v_seen, self.t_seen = vr, now
        steady = flowing and now - self.t_seen >= STEADY_MS
        if not steady and v > vr:
            vr = v
        if vr <= 1:
            vr = b["v"]
        if vr <= 1:
            if i:
                last["power"] = (i, 0.0)
            i = 0.0
        elif i > 0 and i * vr > b["p"] * (1 + _EPS):
            last["power"] = (i * vr, b["p"])
            i = b["p"] / vr
        elif i < 0 and -i * vr > b["dp"] * (1 + _EPS):
            last["power"] = (i * vr, -b["dp"])
            i = -b["dp"] / vr
        self.last = last
        return v, i

    def ac(self, power_w, limits, setpoint=None, schedule_w=None):
        """The AC active power clamped."""
        b = self.bounds(limits, setpoint, schedule_w)
        last = {}
        p = num(power_w)
        if p > b["p"]:
            last["power"] = (p, b["p"])
            p = b["p"]
        elif p < 0 and -p > b["dp"]:
            last["discharge" if not self.discharge else "power"] = (p, -b["dp"])
            p = -b["dp"]
        self.last = last
        return p
