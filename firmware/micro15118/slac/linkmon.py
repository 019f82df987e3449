"""Watch the PLC link after SLAC with the Qualcomm VS_PL_LINK_STATUS MME.

    lm = LinkMonitor(host_mac)
    lm.start(now)                # after ('matched', ...)
    lm.handle_frame(frame, now); lm.poll(now); lm.next_deadline()
    lm.events: ('link_up',), ('link_lost', reason), ('modem_reset',)

Every `period_ms` a VS_PL_LINK_STATUS.REQ goes to the local modem
(localcast).  ('link_up',) when the modem first reports membership of an
AVLN with another station; ('link_lost', 'no_link') when an up link reports
0, ('link_lost', 'no_answer') after `misses` unanswered polls, and
('link_lost', 'join_timeout') when the link never came up within
`join_timeout_ms` (TT_match_join, 12 s).  A link that went down may come up
again.  ('modem_reset',) is a hint that a different modem MAC answered than
before (the modem was swapped or re-flashed); it is only reported.
"""
from . import mme

from ..compat import const

TT_MATCH_JOIN = const(12000)


class LinkMonitor:
    def __init__(self, host_mac, period_ms=1000, misses=3, join_timeout_ms=TT_MATCH_JOIN):
        self.host_mac = bytes(host_mac)
        self.period = period_ms
        self.misses = misses
        self.join_timeout = join_timeout_ms
        self.tx = []
        self.events = []
        self.dropped = 0
        self.stop()

    def start(self, now):
        self.stop()
        self.active = True
        self.next_poll = now
        self.join_deadline = None if self.join_timeout is None else now + self.join_timeout

    def stop(self):
        self.active = False
        self.up = False
        self.unanswered = 0
        self.next_poll = None
        self.join_deadline = None
        self.modem_mac = None

    def next_deadline(self):
        if not self.active:
            return None
        j = self.join_deadline
        if j is not None and j < self.next_poll:
            return j
        return self.next_poll

    def poll(self, now):
        if not self.active:
            return
        j = self.join_deadline
        if j is not None and now >= j:
            self.join_deadline = None
            if not self.up:
                self.events.append(("link_lost", "join_timeout"))
        if now < self.next_poll:
            return
        if self.unanswered >= self.misses:
            self.unanswered = 0
            if self.up:
                self.up = False
                self.events.append(("link_lost", "no_answer"))
        self.tx.append(mme.link_status_req(self.host_mac))
        self.unanswered += 1
        self.next_poll = now + self.period

    def handle_frame(self, frame, now):
        m = mme.parse(frame)
        if (m is None or not self.active or m.mmtype != mme.VS_PL_LINK_STATUS_CNF
                or m.dst != self.host_mac):
            self.dropped += 1
            return
        self.unanswered = 0
        if self.modem_mac is not None and m.src != self.modem_mac:
            self.events.append(("modem_reset",))
        self.modem_mac = m.src
        link = m.mstatus == 0 and m.link == 1
        if link and not self.up:
            self.up = True
            self.join_deadline = None
            self.events.append(("link_up",))
        elif not link and self.up:
            self.up = False
            self.events.append(("link_lost", "no_link"))
