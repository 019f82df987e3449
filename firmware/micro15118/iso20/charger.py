"""The charger API: what a charger application gives the SECC session.

Three interfaces (issue 5), one object:

* downlink, charger -> stack: `set_limits(**kw)`, `set_setpoint(w)`,
  `set_schedule(entries)`, `authorize(ok)`, `emergency_stop()`, `pause()`,
  `stop()`.  The session reads them on every message.
* uplink, stack -> charger: the events the session queues in
  `Secc.events` (EV SoC and requests, authorization request, energy,
  session start/stop); the application drains that list.
* power, stack -> hardware: `contactor`, `dc_target`, `ac_power`,
  `insulation_check`, `present`, `meter`, `update` (the session calls it
  on every message and poll so a model integrates over time).  They call
  `self.power` (same method names, with `now`), which a
  board maps to its hardware and a simulation to `sim.power.PowerModel`;
  the meter there is the source of truth for energy.
* safety envelope: `dc_target`, `ac_power` and `contactor` are the one
  place every power command passes through; `self.envelope`
  (`iso20.envelope.Envelope`, set by the session from what the EV agreed)
  clamps them against the EV's and the charger's limits, the schedule and
  the setpoint before they reach `self.power`; `dc_target` returns the
  (voltage, current) and `ac_power` the power actually commanded, and
  `envelope.last` what was clamped.  The contactor does not close before
  the session has set the envelope.
* Plug-and-Charge: `pnc_authorize(evidence, now)` judges a signed PnC
  AuthorizationReq: None while undecided (the session answers
  EVSEProcessing=Ongoing and asks again with the same evidence object on
  the EV's repeated request), then the -20 ResponseCode: "OK" (or
  "OK_CertificateExpiresSoon") authorizes; WARNING_CertificateExpired /
  _CertificateNotYetValid / _CertificateRevoked / _CertificateValidationError,
  WARNING_eMSPUnknown, WARNING_GeneralPnCAuthorizationError refuse (the
  session goes on, the EV may use EIM); FAILED_SignatureError or FAILED
  end the session.  It delegates to `self.pnc`, the verifier given to
  the constructor (`pnc.pnc_authorize(evidence, now)`; None: this charger
  offers no PnC): on the host `host.pnc.verify.Verifier`, on a board a
  request over the MCU-host link to it.  The evidence (a dict, built by
  iso20/xmldsig.py and the SECC's authorization.py):
      "id"           the Id of PnC_AReqAuthorizationMode
      "element"      its EXI fragment (-20:CommonMessages grammar)
      "digest"       the Reference's DigestValue (SHA-512 the EV claims)
      "signed_info"  the EXI fragment of SignedInfo: the signed octets
      "method"       the SignatureMethod URI (ecdsa-sha512 or eddsa-ed448)
      "signature"    SignatureValue: raw r || s (132 bytes for P-521)
      "leaf"         the contract certificate (DER)
      "sub_cas"      [DER] its SubCertificates, leaf side first
      "challenge"    the GenChallenge (the SECC has checked it is ours)
      "evccid"       the EVCCID of the session
  The verifier checks all of it: the digest of "element", the signature
  over "signed_info" with the leaf's key, the chain to a trusted MO root,
  validity, revocation.
* CertificateInstallation: `certificate_installation(evidence, now)` forwards
  a CertificateInstallationReq to the backend (the CSMS, the MO and the
  CPS behind it: `self.cert_install`, given to the constructor, with the
  same method; on the host `host.pnc.cps.Cps`, on a board a request over
  the MCU-host link).  None while pending (the session answers
  EVSEProcessing=Ongoing and asks again with the same evidence object),
  then (ResponseCode, fields): "OK" with fields {"CPSCertificateChain",
  "SignedInstallationData", "RemainingContractCertificateChains",
  "Signature" (the Header's, the CPS leaf's over SignedInstallationData)},
  which the SECC forwards unchanged; or a WARNING (the OEM chain:
  WARNING_CertificateExpired / _NotYetValid / _Revoked / _ValidationError;
  WARNING_NoCertificateAvailable, WARNING_NoContractMatchingPCIDFound) and
  fields None; FAILED_SignatureError (the OEM provisioning signature does
  not verify) or FAILED end the session.  The evidence (xmldsig.evidence
  and secc/certificate_installation.py):
      "id", "element" (OEMProvisioningCertificateChain's EXI fragment),
      "digest", "signed_info", "method", "signature" as for PnC;
      "leaf", "sub_cas"   the OEM provisioning chain (DER), leaf side first
      "root_ids"     [(X509IssuerName, X509SerialNumber)] the EV trusts
      "max_chains"   MaximumContractCertificateChains
      "emaids"       PrioritizedEMAIDs ([] when none)
      "evccid"       the EVCCID of the session
  Only "element" and "signed_info" are signed; the rest is what the EV asked.
  Without a backend: WARNING_NoCertificateAvailable.
* security: `certificates()` and `sign(data)` (the SECC's TLS side) raise
  NotImplementedError until the TLS wiring.

Units: W, A, V, Wh; + charges the EV, - discharges it.  Limits are the
charger's, always positive (the session applies the configured sign of
discharge values on the wire).
"""

from .envelope import Envelope

LIMITS = {
    "dc_max_charge_power": 150000, "dc_min_charge_power": 0,
    "dc_max_charge_current": 400, "dc_min_charge_current": 0,
    "dc_max_voltage": 920, "dc_min_voltage": 150,
    "dc_max_discharge_power": 50000, "dc_min_discharge_power": 0,
    "dc_max_discharge_current": 125, "dc_min_discharge_current": 0,
    "ac_max_charge_power": 22000, "ac_min_charge_power": 1380,
    "ac_max_discharge_power": 11000, "ac_min_discharge_power": 1380,
    "ac_nominal_voltage": 230, "ac_frequency": 50,
}


class Charger:
    def __init__(self, power, limits=None, authorized=None, schedule_ready=True, pnc=None,
                 cert_install=None):
        self.power = power
        self.pnc = pnc                  # the PnC verifier; None: no PnC
        self.cert_install = cert_install    # the CertificateInstallation backend
        self.envelope = Envelope()
        self._dc_req = None             # the last DC output commanded (V, A)
        self._ac_req = None             # and AC (W)
        self.limits = dict(LIMITS)
        if limits:
            self.set_limits(**limits)
        self.auth = authorized          # None: undecided (EIM pending)
        self.setpoint = None            # W; None: as much as the EV takes
        self.schedule = None            # [(duration s, power W)] or None
        self._schedule_ready = schedule_ready
        self.estop = False
        # Control events: how many pause / stop requests the application has
        # made.  A session acts on those that came after its SessionSetup and
        # never writes them back (control in, feedback out).
        self.pauses = 0
        self.stops = 0
        self.meter_id = getattr(power, "meter_id", "METER")

    # --- downlink ---------------------------------------------------------
    def set_limits(self, **kw):
        """Change limits (keys of LIMITS); they apply from the next message."""
        for k, v in kw.items():
            if k not in self.limits:
                raise KeyError(k)
            self.limits[k] = v
        self.reapply()

    def set_setpoint(self, power_w):
        """Dynamic mode: the power to transfer (+ charge, - discharge);
        None lets the EV take what the limits allow."""
        self.setpoint = power_w
        self.reapply()

    def set_schedule(self, entries):
        """Scheduled mode: [(duration s, max power W), ...] for the
        ScheduleExchange; also ends an EVSEProcessing=Ongoing wait."""
        self.schedule = entries
        self._schedule_ready = True
        self.reapply()

    def schedule_ready(self):
        return self._schedule_ready

    def authorize(self, ok):
        """EIM result (True/False); None makes it pending again."""
        self.auth = ok

    def emergency_stop(self, now=None):
        """Cut the output and open the contactor at once; the session
        answers the EV's next request with FAILED and EVSENotification
        Terminate, then closes."""
        self.estop = True
        self.envelope.close()
        self._dc_req = self._ac_req = None
        if now is None:
            now = getattr(self.power, "t", 0)
        self.power.dc_target(0, 0, now)
        self.power.ac_power(0, now)
        self.power.contactor(False, now)

    def pause(self):
        """Ask the EV to pause (EVSENotification Pause in the charge loop)."""
        self.pauses += 1

    def stop(self):
        """Ask the EV to end the session (EVSENotification Terminate)."""
        self.stops += 1

    def clear_requests(self):
        """Release the emergency stop (pause and stop requests are events:
        each session acts only on those made after its SessionSetup)."""
        self.estop = False

    # --- power seam -------------------------------------------------------
    def contactor(self, closed, now):
        """Open always; close only once the session has set the envelope."""
        if closed and not self.envelope.ready:
            return False
        return self.power.contactor(closed, now)

    def reapply(self, now=None):
        """New limits, setpoint, schedule or envelope act at once, not at
        the EV's next message: what was last commanded goes through the
        envelope again (so this only ever lowers the output; more waits for
        the session's next command)."""
        if now is None:
            now = getattr(self.power, "t", 0)
        if self._dc_req is not None:
            self.dc_target(self._dc_req[0], self._dc_req[1], now)
        if self._ac_req is not None:
            self.ac_power(self._ac_req, now)

    def _schedule_w(self):
        s = self.schedule
        return s[0][1] if s else None

    def dc_target(self, voltage, current, now):
        """Regulate the DC output within the envelope; returns the
        (voltage, current) commanded."""
        try:
            pv, pi, _ = self.power.present(now)
            v, i = self.envelope.dc(voltage, current, pv, self.limits, self.setpoint, self._schedule_w(),
                                    flowing=abs(pi) > 0, now=now)
        except Exception:           # a bad limit, schedule or measurement: nothing
            v, i = 0.0, 0.0
            self.envelope.last = {"error": (voltage, current)}
        self._dc_req = (v, i)
        self.power.dc_target(v, i, now)
        return v, i

    def ac_power(self, power_w, now):
        """Set the AC active power within the envelope; returns it."""
        try:
            p = self.envelope.ac(power_w, self.limits, self.setpoint, self._schedule_w())
        except Exception:
            p = 0.0
            self.envelope.last = {"error": (power_w,)}
        self._ac_req = p
        self.power.ac_power(p, now)
        return p

    def insulation_check(self, now):
        return self.power.insulation_check(now)

    def present(self, now):
        return self.power.present(now)

    def meter(self, now):
        return self.power.meter(now)

    def update(self, now):
        self.power.update(now)

    # --- Plug-and-Charge ----------------------------------------------------
    def pnc_enabled(self):
        return self.pnc is not None

    def pnc_authorize(self, evidence, now):
        """The verdict on a PnC AuthorizationReq (module docstring): None
        while pending, else a -20 ResponseCode."""
        if self.pnc is None:
            return "WARNING_GeneralPnCAuthorizationError"
        return self.pnc.pnc_authorize(evidence, now)

    def certificate_installation(self, evidence, now):
        """The backend's answer to a CertificateInstallationReq (module
        docstring): None while pending, else (ResponseCode, fields)."""
        if self.cert_install is None:
            return "WARNING_NoCertificateAvailable", None
        return self.cert_install.certificate_installation(evidence, now)

    # --- security seam ----------------------------------------------------
    def certificates(self):
        raise NotImplementedError("Plug-and-Charge comes with the security issue")

    def sign(self, data):
        raise NotImplementedError("Plug-and-Charge comes with the security issue")
