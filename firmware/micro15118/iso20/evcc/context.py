"""What an EVCC session is configured with and what it remembers.

config (a dict, every key optional):
  service      'ac' | 'dc' | 'ac_bpt' | 'dc_bpt'          (default 'dc')
  control      'scheduled' | 'dynamic'                    (default 'scheduled')
  direction    'charge' | 'discharge' (BPT services only)  (default 'charge')
  evccid       EVCCID string; default: `mac` (6 bytes) as upper-case hex
  mac          bytes, the EV's MAC
  session_id   8 bytes: resume this paused session
  resume_to    after OK_OldSessionJoined: 'AuthorizationSetup' (default, as
               python-iso15118) or 'ChargeParameterDiscovery' (as libiso15118)
  loops        stop after this many charge loops (0: until the SoC goal)
  loop_interval_ms   pause between two charge-loop requests (default 250)
  ongoing_delay_ms   pause before repeating an Ongoing request (default 100)
  discharge_sign     +1 (default) or -1: the sign of discharge limits on the wire
               (limits only: present values and targets are always signed,
               + into the EV, - out of it, as ISO 15118-20 and our SECC do)
  present_values     'signed' (default): EVSEPresentCurrent, EVSETargetActivePower
               and EVSEPresentActivePower carry the direction (+ into the EV,
               - out of it); a value against the BPT channel ends the session.
               'magnitude': a charger known to report magnitudes only; the
               direction is then taken from the channel and cannot be checked
  bidirectional      Dynamic BPT only: accept power in either direction within
               the EV's limits (the charger steers; default False: the
               selected BPT channel is the only allowed direction)
  precharge_tolerance_v   |EVSE - battery| voltage to end pre-charge (default 10)
  welding_voltage_v       voltage under which welding detection ends (default 60)
  max_supporting_points   ScheduleExchangeReq (12..1024, default 1024)
  stop         how the session ends: 'Terminate' (default), 'Pause'
  auth         'eim' (default) | 'pnc': Plug-and-Charge when the SECC offers it
               (and the connection runs over TLS), else EIM
  tls          the connection runs over TLS (default False); PnC needs it
  contract_key       PnC: the contract private key's reference in the crypto
               seam (vehicle.crypto; on an SE050 its object ID: an int or
               '0x...' string)
  contract_chain     PnC: the contract certificate and its sub-CAs, leaf side
               first (1 + 1..3), as references the vehicle seam resolves
               (vehicle.certificate(ref)): an int or '0x...' string is an
               SE050 binary object, another string a DER file, bytes the DER
  eim_fallback       PnC: use EIM (if offered) when the SECC refuses PnC with
               a WARNING or the signature cannot be made (default True)
  install_contract   PnC without a contract (no contract_key): get one with
               CertificateInstallation when the SECC offers it (default
               False); evcc/certificate_installation.py.  Needs:
  oem_prov_key       the OEM provisioning key's reference in the crypto seam
               (it signs CertificateInstallationReq and agrees the key wrap)
  oem_prov_chain     the OEM provisioning certificate and its sub-CAs, leaf
               first (references as contract_chain)
  root_cert_ids      ListOfRootCertificateIDs: the V2G roots the EV trusts,
               [(issuer name (RFC 4514 string), serial int)] (1..20)
  max_contract_chains  MaximumContractCertificateChains (default 1)
  prioritized_emaids   PrioritizedEMAIDs (optional, up to 8)
  pcid         the PCID for the key wrap's AAD (default: the OEM provisioning
               certificate's CN)
  contract_slot      where the installed contract goes in the SE050: key
               0x15118400 + slot, leaf 0x15118480 + slot, sub-CAs 0x15118500 +
               4 * slot + i (default 0)
  timeouts     dict overriding TIMEOUTS below (ms)
  tolerances   dict overriding TOLERANCES below
"""
from .. import msg
from .certificate_installation import refs as _install_refs

# V2G_EVCC_Msg_Timeout per response (docs/standards-notes.md §5, python-iso15118's values)
# and the process timers, in ms.
TIMEOUTS = {
    'default': 2000,
    'ServiceDetail': 5000,
    'ChargeLoop': 500,
    'setup': 20000,        # V2G_EVCC_CommunicationSetup_Timeout: start -> SessionSetupRes
    'ongoing': 60000,      # V2G_EVCC_Ongoing_Timeout
    'cable_check': 40000,  # V2G_EVCC_CableCheck_Timeout
    'pre_charge': 10000,   # V2G_EVCC_PreCharge_Timeout
    'CertificateInstallation': 5000,
    'install_verify': 10000,  # the vehicle's verifier on a CertificateInstallationRes
}

# The EV's safety envelope on what the charger reports (evcc/guard.py).
# Direction: a present current / power against the channel by more than
# this ends the session (+1 A or +10 W while discharging does).  Limits: a
# present current, power or voltage above the EV's maximum by more than
# max(absolute, percent of the limit) ends it.
TOLERANCES = {
    'direction_a': 0.5,    # A, DC present current
    'direction_w': 5.0,    # W, AC target / present active power
    'limit_a': 1.0,        # A
    'limit_w': 100.0,      # W
    'limit_v': 2.0,        # V
    'limit_pct': 2.0,      # % of the current and power limits
    'limit_v_pct': 1.0,    # % of the maximum voltage
}

_SERVICES = {'ac': msg.SERVICE_AC, 'dc': msg.SERVICE_DC,
             'ac_bpt': msg.SERVICE_AC_BPT, 'dc_bpt': msg.SERVICE_DC_BPT}
_CONTROLS = {'scheduled': msg.SCHEDULED, 'dynamic': msg.DYNAMIC}


def _ref(x):
    """A key or certificate reference: '0x...' strings become ints."""
    if isinstance(x, str) and x[:2] in ('0x', '0X'):
        return int(x, 16)
    return x


def _hex(b):
    return ''.join('%02X' % x for x in b)


class Context:
    def __init__(self, config):
        c = config
        service = c.get('service', 'dc')
        if service not in _SERVICES:
            raise ValueError('service must be one of ac, dc, ac_bpt, dc_bpt')
        control = c.get('control', 'scheduled')
        if control not in _CONTROLS:
            raise ValueError('control must be scheduled or dynamic')
        self.service_id = _SERVICES[service]
        self.dc = self.service_id in msg.DC_SERVICES
        self.bpt = self.service_id in msg.BPT_SERVICES
        self.control = _CONTROLS[control]
        self.dynamic = self.control == msg.DYNAMIC
        self.discharge = self.bpt and c.get('direction', 'charge') == 'discharge'
        evccid = c.get('evccid')
        if evccid is None:
            evccid = _hex(c.get('mac', b'\x02\x00\x00\x00\x00\x01'))
        self.evccid = evccid
        self.resume_id = c.get('session_id')
        self.resume_to = c.get('resume_to', 'AuthorizationSetup')
        if self.resume_to not in ('AuthorizationSetup', 'ChargeParameterDiscovery'):
            raise ValueError('resume_to must be AuthorizationSetup or ChargeParameterDiscovery')
        self.loops = int(c.get('loops', 0))
        self.loop_interval = int(c.get('loop_interval_ms', 250))
        self.ongoing_delay = int(c.get('ongoing_delay_ms', 100))
        self.sign = -1 if c.get('discharge_sign', 1) < 0 else 1
        self.precharge_tol = float(c.get('precharge_tolerance_v', 10))
        self.welding_v = float(c.get('welding_voltage_v', 60))
        self.max_points = int(c.get('max_supporting_points', 1024))
        self.final_stop = c.get('stop', msg.TERMINATE)
        self.timeouts = dict(TIMEOUTS)
        self.timeouts.update(c.get('timeouts', {}))
        self.tol = dict(TOLERANCES)
        self.tol.update(c.get('tolerances', {}))
        present = c.get('present_values', 'signed')
        if present not in ('signed', 'magnitude'):
            raise ValueError('present_values must be signed or magnitude')
        self.magnitude_only = present == 'magnitude'
        self.both_ways = bool(c.get('bidirectional', False)) and self.bpt and self.dynamic
        auth = c.get('auth', 'eim')
        if auth not in ('eim', 'pnc'):
            raise ValueError('auth must be eim or pnc')
        self.tls = bool(c.get('tls', False))
        self.pnc = auth == 'pnc'
        self.contract_key = _ref(c.get('contract_key'))
        self.contract_chain = [_ref(x) for x in c.get('contract_chain', ())]
        self.install = bool(c.get('install_contract', False))
        have = self.contract_key is not None
        if self.pnc and have and not 2 <= len(self.contract_chain) <= 4:
            raise ValueError('auth pnc needs contract_key and contract_chain (leaf + 1..3 sub-CAs)')
        if self.pnc and not have and not self.install:
            raise ValueError('auth pnc needs contract_key and contract_chain, or install_contract')
        self.oem_key = _ref(c.get('oem_prov_key'))
        self.oem_chain = [_ref(x) for x in c.get('oem_prov_chain', ())]
        self.root_ids = [{'X509IssuerName': str(n), 'X509SerialNumber': int(sn)}
                         for n, sn in c.get('root_cert_ids', ())]
        self.max_chains = int(c.get('max_contract_chains', 1))
        self.emaids = list(c.get('prioritized_emaids', ()))
        self.pcid = c.get('pcid')
        slot = int(c.get('contract_slot', 0))
        if self.install:
            if self.oem_key is None or not 2 <= len(self.oem_chain) <= 4:
                raise ValueError('install_contract needs oem_prov_key and oem_prov_chain (leaf + 1..3 sub-CAs)')
            if not 1 <= len(self.root_ids) <= 20 or not 0 <= self.max_chains <= 255 or len(self.emaids) > 8:
                raise ValueError('install_contract needs 1..20 root_cert_ids (and at most 8 prioritized_emaids)')
            if not 0 <= slot < 128:
                raise ValueError('contract_slot must be 0..127')
        self.install_refs = _install_refs(slot)
        self.eim_fallback = bool(c.get('eim_fallback', True))
        self.reset()

    def reset(self):
        """Forget what one SECC told us (a new session, or renegotiation)."""
        self.session_id = None
        self.evse_id = None
        self.resumed = False
        self.renegotiation_supported = False
        self.parameter_set_id = None
        self.evse = {}            # EVSE limits by element name (floats, magnitudes)
        self.tuple_id = None      # selected ScheduleTuple
        self.schedule_power = None  # W from the selected schedule (magnitude)
        self.evse_targets = {}    # dynamic: DepartureTime / MinimumSOC / TargetSOC
        self.progress = msg.START # what the next PowerDeliveryReq says
        self.stop_with = None     # SessionStop kind once the loop ends
        self.loops_done = 0
        self.started = False      # PowerDelivery(Start) answered once
        self.precharged = False
        self.welded = False
        self.evse_voltage = None
        self.ev_power = 0.0       # AC: what the EV draws now
        self.in_loop = False      # the SECC is in its charge loop (PowerDelivery Start answered)
        self.end_reason = None    # why the charge loop ended
        self.welded_sent = False
        self.stop_sent = None
        self.auth_offered = ()    # AuthorizationServices of the SECC
        self.auth = 'EIM'         # what our AuthorizationReq selects
        self.challenge = None     # GenChallenge for PnC
        self.pnc_request = None   # (PnC_AReqAuthorizationMode, Signature), made once
        self.installing = False   # Authorization sends CertificateInstallationReq
        self.install_request = None   # (OEMProvisioningCertificateChain, Signature), made once
        self.install_evidence = None  # (evidence, response) while the vehicle verifies
