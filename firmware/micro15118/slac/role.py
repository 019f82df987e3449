"""What the two SLAC roles (ev.py, evse.py) share: the defaults ISO 15118-3
gives both, the checked arguments and outputs, a malformed-frame guard and
the rule for an unanswered request (repeat it, then the run fails).

A role defines ID_NAME (its station id argument, for the error message),
`_handle(frame, now)` (True when the frame was for it) and
`_fail(reason, now)`.
"""
from ..compat import const

# ISO 15118-3 Table A.1 (values as in libslac / pyslac), used by both roles.
TT_MATCH_RESPONSE = const(200)
C_EV_MATCH_RETRY = const(2)
C_EV_MATCH_MNBC = const(10)
SET_KEY_TIMEOUT = const(500)    # QCA modems may not answer SET_KEY sensibly


class SlacRole:
    def __init__(self, host_mac, station_id, rng, tt_match_response, c_ev_match_retry,
                 set_key_timeout):
        if len(host_mac) != 6 or len(station_id) != 17:
            raise ValueError("host_mac is 6 bytes, %s 17" % self.ID_NAME)
        if rng is None:
            raise TypeError(type(self).__name__
                            + " needs rng: the app's random source (no platform default)")
        self.host_mac = bytes(host_mac)
        self.rng = rng
        self.tt_response = tt_match_response
        self.match_retry = c_ev_match_retry
        self.set_key_timeout = set_key_timeout
        self.tx = []
        self.events = []
        self.dropped = 0
        self.errors = 0         # exceptions caught in handle_frame (should stay 0)

    def handle_frame(self, frame, now):
        try:
            ok = self._handle(frame, now)
        except (ValueError, IndexError, TypeError, KeyError):
            # A malformed frame slipped past a parser: a bug, but never fatal.
            self.errors += 1
            ok = False
        if not ok:
            self.dropped += 1

    def _resend_or_fail(self, resend, reason, now):
        # An unanswered request goes out again up to C_EV_match_retry times.
        if self.retries < self.match_retry:
            self.retries += 1
            resend(now)
        else:
            self._fail(reason, now)
