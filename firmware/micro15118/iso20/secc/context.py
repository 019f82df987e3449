"""What an SECC session remembers, and the store of paused sessions."""


class Context:
    def __init__(self):
        self.session_id = None
        self.evccid = None
        self.pauses_seen = 0        # the charger's pause/stop requests before this session
        self.stops_seen = 0
        self.protocol = None        # (namespace, major, minor) from SAP
        self.tls = False            # the connection runs over TLS (PnC only then)
        self.auth_service = None    # 'EIM' | 'PnC' once authorized
        self.auth_offered = ()      # AuthorizationServices of our AuthorizationSetupRes
        self.challenge = None       # GenChallenge offered for PnC; None once spent
        self.pnc_request = None     # (PnC_AReqAuthorizationMode, Signature) being judged
        self.pnc_evidence = None    # and its evidence (charger.pnc_authorize)
        self.install_offered = False    # CertificateInstallationService of AuthorizationSetupRes
        self.install_request = None     # (OEMProvisioningCertificateChain, Signature, rest) pending
        self.install_evidence = None    # and its evidence (charger.certificate_installation)
        self.install_since = None       # ms of the first Ongoing CertificateInstallationRes
        self.service = None         # selected energy-transfer ServiceID
        self.parameter_set = None
        self.control_mode = None    # msg.SCHEDULED / msg.DYNAMIC
        self.dc = False
        self.bpt = False
        self.ev = {}                # EV limits (W, A, V; discharge positive)
        self.schedule_ids = ()      # ScheduleTupleIDs offered
        self.channel = "Charge"     # BPT_ChannelSelection
        self.energy = False         # power may flow (PowerDelivery Start..Stop)
        self.started = False        # PowerDelivery(Start) seen once
        self.ev_processing = None   # EVProcessing of the last PreCharge/Welding req
        self.ongoing_since = None   # ms of the first EVSEProcessing=Ongoing answer
        self.resumed = False
        self.contactor = False      # our output contactor is closed
        self.standby = False
        self.ev_v_bad = False       # EVPresentVoltage implausible (noted once)
        self.offered = ()           # energy ServiceIDs listed in discovery
        self.sets = {}              # ServiceID -> {ParameterSetID: control mode}

    def pause_copy(self):
        """What survives a pause: the session and its choices."""
        c = Context()
        for k in ("session_id", "evccid", "protocol", "auth_service", "service",
                  "parameter_set", "control_mode", "dc", "bpt", "ev"):
            setattr(c, k, getattr(self, k))
        return c


class PauseStore:
    """Paused sessions by SessionID, at most `size` (oldest dropped)."""

    def __init__(self, size=4):
        self.size = size
        self._items = []            # [(session_id, Context)]

    def put(self, ctx):
        self.take(ctx.session_id)
        self._items.append((ctx.session_id, ctx))
        if len(self._items) > self.size:
            self._items.pop(0)

    def take(self, session_id):
        for i, (sid, ctx) in enumerate(self._items):
            if sid == session_id:
                self._items.pop(i)
                return ctx
        return None

    def __len__(self):
        return len(self._items)
