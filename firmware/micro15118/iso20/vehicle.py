"""The vehicle API: the mirror image of the charger API.

Downlink (the EV's application -> stack): the limits (`set_limits`), targets
(`set_targets`), and requests to end the session (`request_stop`,
`request_pause`, `request_renegotiation`).
Uplink (stack -> application): `delivered(now, power_w, voltage, current)`
after every charge-loop response, signed as the charger reports it (+ into
the battery, - out of it; DC: EVSEPresentVoltage x EVSEPresentCurrent, AC:
EVSEPresentActivePower no higher than the EV draws, else what it draws, the
lower of EVSETargetActivePower and its own plan), only once it passed the
EV's safety envelope (evcc/guard.py: never against the asked direction,
never above the limits below); `contactor(closed)`, and the Evcc's events.
The battery behind it is duck-typed: `sim/battery.py` in simulation, the BMS
on a car (soc(), voltage(), departure_time(now), update(now, power_w) and
the capacity/limit attributes).

Plug-and-Charge: `crypto` is the crypto seam the EVCC signs with
(iso20/xmldsig.py: sha512(data), sign_sha512(key_ref, digest) -> DER,
read_certificate(ref) -> DER; on a board `xmldsig.Se050Crypto(se050)`, the
contract key inside the chip), and `certificate(ref)` resolves the
references of the Evcc config's contract_chain: an int is a binary object
of the crypto seam (an SE050 object ID), a str a DER file, bytes the DER.

CertificateInstallation (a vehicle without a contract): `crypto` also
unwraps and imports the new contract key (xmldsig.py lists the primitives;
iso20/evcc/contract_key.py the key wrap), and `cps_verifier` judges the
CertificateInstallationRes: `verify_installation(evidence, now)` -> None
while pending, True when the CPS leaf's signature over SignedInstallationData
and the CPS chain to a trusted V2G root verify, else the reason (a str).
The evidence (built by xmldsig.evidence and evcc/certificate_installation.py):
    "id", "element" (SignedInstallationData's EXI fragment), "digest",
    "signed_info" (the signed octets), "method", "signature" (raw r || s),
    "leaf" (the CPS leaf, DER), "sub_cas" ([DER], leaf side first)
On the host `host.pnc.vehicle.InstallationVerifier`; on a board a request
over the MCU-host link to it (the MCU does no P-521 arithmetic).
"""

LIMITS = ('max_charge_power', 'min_charge_power', 'max_charge_current', 'min_charge_current',
          'max_voltage', 'min_voltage', 'max_discharge_power', 'min_discharge_power',
          'max_discharge_current', 'min_discharge_current')


class Vehicle:
    def __init__(self, battery, crypto=None, cps_verifier=None, **limits):
        b = battery
        self.battery = b
        self.crypto = crypto      # the crypto seam for PnC (None: no PnC)
        self.cps_verifier = cps_verifier    # judges CertificateInstallationRes
        # limits the stack sends (W, A, V); discharge values are magnitudes
        self.max_charge_power = b.max_charge_power
        self.min_charge_power = 100.0
        self.max_charge_current = b.max_current
        self.min_charge_current = 1.0
        self.max_voltage = b.v_full
        self.min_voltage = b.v_empty
        self.max_discharge_power = b.max_discharge_power
        self.min_discharge_power = 100.0
        self.max_discharge_current = b.max_discharge_current
        self.min_discharge_current = 1.0
        self.set_limits(**limits)
        self.power = 0.0          # last delivered power (W, + charge)
        self.voltage = None       # last EVSE present voltage (DC)
        self.current = None       # last EVSE present current (DC)
        self.closed = False
        self._request = None      # the app's pending control event, see take_request()

    # -- downlink ------------------------------------------------------
    def set_limits(self, **limits):
        for k in limits:
            if k not in LIMITS:
                raise ValueError('unknown limit ' + k)
            setattr(self, k, float(limits[k]))

    def set_targets(self, target_soc=None, min_soc=None, departure_s=None, now=0):
        b = self.battery
        if target_soc is not None:
            b.target_soc = float(target_soc)
        if min_soc is not None:
            b.min_soc = float(min_soc)
        if departure_s is not None:
            b.departure_at = now + int(departure_s) * 1000

    # -- control events: the app asks, the EVCC takes each once ----------
    def request_stop(self):
        self._request = 'Terminate'

    def request_pause(self):
        self._request = 'Pause'

    def request_renegotiation(self):
        self._request = 'ServiceRenegotiation'

    def take_request(self):
        """The pending request ('Terminate' | 'Pause' | 'ServiceRenegotiation'),
        once; None if there is none."""
        r = self._request
        self._request = None
        return r

    # -- what the stack reads -------------------------------------------
    def soc(self):
        return self.battery.soc()

    def target_soc(self):
        return self.battery.target_soc

    def min_soc(self):
        return self.battery.min_soc

    def present_voltage(self):
        return self.battery.voltage()

    def capacity_wh(self):
        return self.battery.capacity_wh

    def departure_time(self, now):
        return self.battery.departure_time(now)

    def energy_requests(self):
        """(target, maximum, minimum) energy to charge, Wh (SoC based)."""
        b = self.battery
        e = b.energy_wh
        cap = b.capacity_wh
        target = max(0.0, cap * b.target_soc / 100.0 - e)
        return target, max(0.0, cap - e), max(0.0, cap * b.min_soc / 100.0 - e)

    def v2x_requests(self):
        """(maximum, minimum) V2X energy, Wh: minimum < 0 means the battery
        can give energy down to its minimum SoC."""
        b = self.battery
        e = b.energy_wh
        return b.capacity_wh - e, b.capacity_wh * b.min_soc / 100.0 - e

    def complete(self, discharging):
        """True once the session's goal is met."""
        if discharging:
            return self.soc() <= self.battery.min_soc
        return self.soc() >= self.battery.target_soc

    # -- Plug-and-Charge -------------------------------------------------
    def certificate(self, ref):
        """The DER certificate a contract_chain reference names."""
        if isinstance(ref, int):
            if self.crypto is None:
                raise ValueError('no crypto seam to read certificate %r' % ref)
            return bytes(self.crypto.read_certificate(ref))
        if isinstance(ref, str):
            with open(ref, 'rb') as f:
                return f.read()
        return bytes(ref)

    def verify_installation(self, evidence, now):
        """The verdict on a CertificateInstallationRes (module docstring)."""
        if self.cps_verifier is None:
            return 'no CPS verifier'
        return self.cps_verifier.verify_installation(evidence, now)

    # -- uplink --------------------------------------------------------
    def delivered(self, now, power_w, voltage=None, current=None):
        self.battery.update(now, power_w)
        self.power = float(power_w)
        self.voltage = voltage
        self.current = current

    def contactor(self, closed, now=0):
        self.closed = closed
        if not closed:
            self.delivered(now, 0.0)
