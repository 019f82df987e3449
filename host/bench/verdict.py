"""Verdicts of a simulated session, from what happened.

The same checks judge every pairing (ours or python-iso15118 on either
end).  They read the V2G messages decoded from the capture (host/capture/v2glog.py)
and, where the run has them, the battery and the charger's meter:

* session_stop  the EV sent SessionStopReq and the charger answered OK;
* soc           the EV's state of charge moved the asked way (the battery
                where we have it, else PresentSOC on the wire, else the
                energy on the wire);
* meter         our charger's meter and the battery on the cable agree
                within 0.5 %;
* reports       what our charger reported in the loop (present voltage x
                current or active power, each held until the next report)
                adds up to what its meter counted, within 10 %: it did not
                report energy that did not flow;
* direction     in the charge loop, the present current (DC) or active
                power (AC) the charger reported has the asked sign, and
                some energy really moved that way;
* limits        no present voltage, current or power the charger reported
                ever exceeded the limits both sides had announced.

`judge(...)` returns a dict for result.json: the verdict ('pass' only if
every check holds), one-line reasons for the checks that failed, every
check with its figures.
"""

# Measurement tolerances: what a present value may differ from a limit or
# from zero before it counts (a DC meter's resolution is about 0.1 A / 0.1 V).
CURRENT_TOL_A = 0.5
VOLTAGE_TOL_V = 1.0
POWER_TOL_W = 5.0
LIMIT_REL = 0.005      # and 0.5 % of the limit
METER_REL = 0.005      # meter against battery


def value(r):
    """A decoded RationalNumber as a float (None if absent)."""
    if r is None:
        return None
    return r["Value"] * 10.0 ** r["Exponent"]


def _loop_parts(body):
    """(element name, element) of the control or energy-transfer mode."""
    for k, v in body.items():
        if k.endswith("Mode") and isinstance(v, dict):     # ...ControlMode, ...EnergyTransferMode
            return k, v
    return None, {}


class _Limits:
    """The latest limits each side announced, as magnitudes."""

    EV = {"EVMaximumVoltage": "voltage", "EVMaximumChargeCurrent": "charge_current",
          "EVMaximumChargePower": "charge_power", "EVMaximumDischargeCurrent": "discharge_current",
          "EVMaximumDischargePower": "discharge_power"}

    def __init__(self):
        self.ev = {}
        self.evse = {}

    def read(self, sender, part):
        for k, x in part.items():
            if not (isinstance(x, dict) and "Exponent" in x):
                continue
            if sender == "EV" and k in self.EV:
                self.ev[self.EV[k]] = abs(value(x))
            elif sender == "SECC" and k.startswith("EVSEMaximum"):
                key = self.EV.get("EV" + k[4:])
                if key:
                    self.evse[key] = abs(value(x))

    def limit(self, key):
        """min(EV, EVSE) for key; None if neither announced it."""
        got = [d[key] for d in (self.ev, self.evse) if key in d]
        return min(got) if got else None

    def who(self, key):
        ev, evse = self.ev.get(key), self.evse.get(key)
        if ev is not None and (evse is None or ev <= evse):
            return "the EV's"
        return "the charger's"


def _over(x, lim, tol):
    return lim is not None and abs(x) > lim * (1 + LIMIT_REL) + tol


def _fmt(x, unit):
    return "%+.1f %s" % (x, unit) if unit != "V" else "%.1f V" % x


class Check:
    def __init__(self, name):
        self.name = name
        self.ok = True
        self.reason = None
        self.figures = {}

    def fail(self, reason):
        if self.ok:                  # the first failure is the reason
            self.ok = False
            self.reason = reason

    def as_dict(self):
        d = {"name": self.name, "ok": self.ok}
        if self.reason:
            d["reason"] = self.reason
        d.update(self.figures)
        return d


def _session_stop(msgs):
    c = Check("session_stop")
    req = [m for m in msgs if m.get("name") == "SessionStopReq"]
    res = [m for m in msgs if m.get("name") == "SessionStopRes"]
    if not req:
        last = next((m["name"] for m in reversed(msgs) if m.get("name")), None)
        c.fail("the session never reached SessionStop (last message: %s)" % (last or "none"))
    elif not res or not str(res[-1]["body"].get("ResponseCode", "")).startswith("OK"):
        c.fail("SessionStopReq was not answered OK")
    else:
        c.figures["stop"] = req[-1]["body"].get("ChargingSession")
    return c


def _loop_values(msgs, dc):
    """[(t, voltage, current, power)] the charger reported in the loop (power
    signed: + into the EV); the limits checked on the way."""
    lim = _Limits()
    out = []
    violations = []
    for m in msgs:
        name, body, sender = m.get("name") or "", m.get("body") or {}, m.get("from")
        if name.endswith("ChargeParameterDiscoveryReq") or name.endswith("ChargeParameterDiscoveryRes") \
                or name.endswith("ChargeLoopReq") or name.endswith("ChargeLoopRes"):
            lim.read(sender, _loop_parts(body)[1])
        if sender != "SECC":
            continue
        v = value(body.get("EVSEPresentVoltage"))
        if v is not None and _over(v, lim.limit("voltage"), VOLTAGE_TOL_V):
            violations.append("%s reported %s above %s maximum %.1f V" % (
                name, _fmt(v, "V"), lim.who("voltage"), lim.limit("voltage")))
        if not name.endswith("ChargeLoopRes") or not str(body.get("ResponseCode", "")).startswith("OK"):
            continue
        if dc:
            i = value(body.get("EVSEPresentCurrent")) or 0.0
            p = (v or 0.0) * i
        else:
            part = _loop_parts(body)[1]
            p = value(part.get("EVSEPresentActivePower"))
            if p is None:
                p = value(part.get("EVSETargetActivePower")) or 0.0
            i = None
        key = "charge" if p >= 0 and (i is None or i >= 0) else "discharge"
        if i is not None and _over(i, lim.limit(key + "_current"), CURRENT_TOL_A):
            violations.append("%s reported %s above %s maximum %s current %.1f A" % (
                name, _fmt(i, "A"), lim.who(key + "_current"), key, lim.limit(key + "_current")))
        if _over(p, lim.limit(key + "_power"), POWER_TOL_W):
            violations.append("%s reported %s above %s maximum %s power %.0f W" % (
                name, _fmt(p, "W"), lim.who(key + "_power"), key, lim.limit(key + "_power")))
        out.append((m["t"], v, i, p))
    return out, violations


def _wire_wh(loop, msgs):
    """Energy from the loop reports: each power held until the next report,
    the last one until the charger's next answer (PowerDelivery Stop)."""
    if not loop:
        return 0.0
    t_last = loop[-1][0]
    end = next((m["t"] for m in msgs if m.get("from") == "SECC" and m["t"] > t_last), t_last)
    wh = 0.0
    for (t0, _, _, p), (t1, _, _, _) in zip(loop, loop[1:] + [(end, None, None, None)]):
        wh += p * (t1 - t0) / 3600.0
    return wh


def _direction(loop, discharge, dc, charger_name):
    c = Check("direction")
    sign = -1 if discharge else 1
    tol = CURRENT_TOL_A if dc else POWER_TOL_W
    unit = "A" if dc else "W"
    seen = [(i if dc else p) for _, _, i, p in loop]
    right = [x for x in seen if x * sign > tol]
    wrong = [x for x in seen if x * sign < -tol]
    c.figures.update(loops=len(seen), right_way=len(right), wrong_way=len(wrong))
    asked = "discharg" if discharge else "charg"
    if not seen:
        c.fail("no charge loop was answered")
    elif wrong:
        if not right:
            c.fail("%s never %sed: %s in %s" % (
                charger_name, asked, _span(wrong, unit), _all(len(seen))) if len(wrong) == len(seen) else
                "%s never %sed: %s in %d of %d loops, the rest zero" % (
                charger_name, asked, _span(wrong, unit), len(wrong), len(seen)))
        else:
            c.fail("%s went the wrong way while %sing: %s in %d of %d loops" % (
                charger_name, asked, _span(wrong, unit), len(wrong), len(seen)))
    elif not right:
        c.fail("%s never %sed: nothing beyond %s %s in %s" % (
            charger_name, asked, tol, unit, _all(len(seen))))
    return c


def _all(n):
    return "its only loop" if n == 1 else "all %d loops" % n


def _span(xs, unit):
    lo, hi = min(xs), max(xs)
    if abs(hi - lo) < 0.05:
        return _fmt(lo, unit)
    return "%s to %s" % (_fmt(lo, unit), _fmt(hi, unit))


def _soc(msgs, battery, discharge, wire_wh):
    c = Check("soc")
    socs = [m["body"]["DisplayParameters"]["PresentSOC"] for m in msgs
            if m.get("from") == "EV" and "DisplayParameters" in (m.get("body") or {})
            and "PresentSOC" in m["body"]["DisplayParameters"]]
    if battery is not None:
        start, end = battery["soc_start"], battery["soc_end"]
        c.figures.update(source="battery", start=start, end=end)
    elif len(socs) >= 2 and socs[0] != socs[-1]:
        start, end = socs[0], socs[-1]
        c.figures.update(source="wire", start=start, end=end)
    else:
        # whole-percent SoC on the wire does not move in a short run
        start, end = 0.0, wire_wh
        c.figures.update(source="wire energy", wire_wh=round(wire_wh, 4))
    moved = end < start if discharge else end > start
    if not moved:
        what = "discharging" if discharge else "charging"
        if c.figures["source"] == "wire energy":
            c.fail("the energy reported on the wire moved %+.3f Wh while %s" % (wire_wh, what))
        else:
            c.fail("SoC went from %.3f to %.3f %% while %s" % (start, end, what))
    return c


def _meter(meter_wh, battery):
    c = Check("meter")
    ev_wh = battery["net_wh"]
    c.figures.update(meter_wh=round(meter_wh, 4), battery_wh=round(ev_wh, 4))
    if abs(meter_wh - ev_wh) > METER_REL * max(abs(meter_wh), abs(ev_wh), 1e-9):
        c.fail("meter %.3f Wh and battery %.3f Wh differ by more than 0.5 %%" % (meter_wh, ev_wh))
    return c


REPORTS_REL = 0.10     # loop reports against the meter (start/end of a 20-loop run)
REPORTS_WH = 0.05


def _reports(wire_wh, meter_wh):
    c = Check("reports")
    c.figures.update(wire_wh=round(wire_wh, 4), meter_wh=round(meter_wh, 4))
    if abs(wire_wh - meter_wh) > REPORTS_REL * max(abs(wire_wh), abs(meter_wh)) + REPORTS_WH:
        c.fail("the charger's loop reports add up to %+.3f Wh but its meter counted %+.3f Wh" % (
            wire_wh, meter_wh))
    return c


def judge(msgs, service, direction, battery=None, meter_wh=None, charger_name="the charger"):
    """The verdict of one run.  msgs: decoded messages in time order;
    battery: {'soc_start', 'soc_end', 'net_wh'} if the run has one (the pack
    on the cable our charger drives); meter_wh: our charger's meter
    (charged - discharged)."""
    dc = service.startswith("dc")
    discharge = direction == "discharge"
    loop, violations = _loop_values(msgs, dc)
    wire_wh = _wire_wh(loop, msgs)
    checks = [_session_stop(msgs), _soc(msgs, battery, discharge, wire_wh)]
    if meter_wh is not None and battery is not None:
        checks.append(_meter(meter_wh, battery))
    if meter_wh is not None:
        checks.append(_reports(wire_wh, meter_wh))
    checks.append(_direction(loop, discharge, dc, charger_name))
    lim = Check("limits")
    lim.figures["violations"] = len(violations)
    if violations:
        lim.fail(violations[0] + ("" if len(violations) == 1 else " (and %d more)" % (len(violations) - 1)))
    checks.append(lim)
    reasons = [c.reason for c in checks if not c.ok]
    return {"verdict": "pass" if not reasons else "fail", "reasons": reasons,
            "checks": [c.as_dict() for c in checks], "wire_wh": round(wire_wh, 4),
            "messages": len(msgs)}


# --- authorization (EIM / Plug-and-Charge) ----------------------------------------

PNC_MODE = "PnC_AReqAuthorizationMode"


def auth_exchanges(msgs):
    """The authorization of a run from the wire: the services the charger
    offered, and one attempt per AuthorizationReq the EV started (repeats
    answered Ongoing belong to it): service, whether it carried the PnC
    mode element and a Signature, the Ongoing answers, the final code."""
    offered = None
    attempts = []
    cur = None
    for m in msgs:
        name, body = m.get("name"), m.get("body") or {}
        if name == "AuthorizationSetupRes":
            offered = list(body.get("AuthorizationServices") or [])
        elif name == "AuthorizationReq":
            svc = body.get("SelectedAuthorizationService")
            if cur is None or cur["code"] is not None or cur["service"] != svc:
                cur = {"service": svc, "pnc_mode": PNC_MODE in body,
                       "signed": "Signature" in (body.get("Header") or {}), "requests": 0,
                       "ongoing": 0, "code": None, "t": m.get("t")}
                if PNC_MODE in body:
                    chain = body[PNC_MODE].get("ContractCertificateChain") or {}
                    cur["leaf"] = chain.get("Certificate")
                attempts.append(cur)
            cur["requests"] += 1
        elif name == "AuthorizationRes" and cur is not None and cur["code"] is None:
            code = str(body.get("ResponseCode", ""))
            if body.get("EVSEProcessing") == "Ongoing" and code.startswith("OK"):
                cur["ongoing"] += 1
            else:
                cur["code"] = code
                cur["finished_t"] = m.get("t")
    return offered, attempts


def _contactor_closed(cable):
    return any("charger contactor closed" in e for e in (cable or {}).get("events", []))


def auth_checks(auth, expected, power, fallback):
    """The Plug-and-Charge checks (result.json's "auth"): the PnC attempt
    got the expected code; a refused contract lets no power flow (meter 0
    Wh, the charger's contactor never closed) unless the EV falls back to
    EIM (fallback: allowed), and that fallback is reported."""
    checks = []
    c = Check("pnc_code")
    pnc = auth.get("pnc")
    c.figures.update(expected=expected, got=pnc and pnc["code"])
    if pnc is None:
        c.fail("the EV sent no PnC AuthorizationReq (the charger offered %s)" % (auth.get("offered"),))
    elif not (pnc["pnc_mode"] and pnc["signed"]):
        c.fail("the PnC AuthorizationReq had no signed PnC_AReqAuthorizationMode")
    elif pnc["code"] != expected:
        c.fail("AuthorizationRes to PnC was %s, expected %s" % (pnc["code"], expected))
    checks.append(c)
    if expected.startswith("OK"):
        return checks
    f = Check("fallback")
    f.figures.update(allowed=fallback, used=auth.get("fallback"))
    if fallback and auth.get("fallback") != "EIM" and expected.startswith("WARNING"):
        f.fail("the EV did not fall back to EIM after %s" % expected)
    elif not fallback and auth.get("fallback"):
        f.fail("the EV used %s after %s with the fallback off" % (auth["fallback"], expected))
    checks.append(f)
    if not fallback:
        checks.append(no_power(power, "after %s" % expected))
    return checks


def no_power(power, when):
    """power: {"meter_charged_wh", "meter_discharged_wh", "contactor_closed"}."""
    c = Check("no_power")
    c.figures.update(power)
    if power.get("contactor_closed"):
        c.fail("the charger's contactor closed %s" % when)
    elif power.get("meter_charged_wh") or power.get("meter_discharged_wh"):
        c.fail("energy flowed %s: meter %.3f / %.3f Wh" % (when, power.get("meter_charged_wh") or 0,
                                                          power.get("meter_discharged_wh") or 0))
    return c


def power_summary(cable, meter=None):
    """What flowed through the charger: its meter (charged, discharged Wh:
    the charger's own reading, else the cable's) and whether its contactor
    ever closed (the power path's events)."""
    charged = discharged = None
    if meter is not None:
        charged, discharged = meter
    elif cable is not None:
        charged, discharged = cable.get("meter_charged_wh"), cable.get("meter_discharged_wh")
    return {"meter_charged_wh": charged, "meter_discharged_wh": discharged,
            "contactor_closed": _contactor_closed(cable)}
