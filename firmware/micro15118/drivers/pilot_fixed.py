"""A control pilot that reads what the board file says: a stand-in for a
board without CP hardware (or whose CP is not wired to this controller yet),
such as a Linux board on a bench or a veth in a test.  No I/O.

board.json: "pilot": "fixed", "pilot_state": "B" (the vehicle's state
the charger sees, and the vehicle's own state; default B), "pilot_duty": 50
(the duty the vehicle reads, permille; default 50 = 5 %, digital
communication).  The charger reads the duty it sets.

Same interface as drivers/pilot_hw.py: read() -> (high_mv, low_mv, duty);
set_duty(permille) (charger), set_state(state) (vehicle).
"""

LEVEL_MV = {"A": 12000, "B": 9000, "C": 6000, "D": 3000}


class FixedPilot:
    def __init__(self, board):
        self.state = board.get("pilot_state", "B")
        if self.state not in LEVEL_MV:
            raise ValueError("pilot_state must be A, B, C or D")
        self.duty = board.get("pilot_duty", 50)

    def set_duty(self, permille):
        self.duty = max(0, min(1000, int(permille)))

    def set_state(self, state):
        if state not in ("B", "C", "D"):
            raise ValueError("state must be B, C or D")
        self.state = state

    def read(self):
        duty = self.duty
        if duty == 0:                        # -12 V: state F
            return -12000, -12000, 0
        high = LEVEL_MV[self.state]
        # PWM on: the low plateau is -12 V (the vehicle's diode); DC: flat.
        return high, (high if duty >= 1000 else -12000), duty
