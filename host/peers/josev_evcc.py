"""Start python-iso15118's EVCC ("Josev") with one seam of ours.

    python josev_evcc.py CONFIG.json          (inside the netns; see josev.py)

Josev's simulated EV takes the first parameter set the charger offers for
its first matching energy service, so the control mode (Scheduled or
Dynamic) is the charger's choice.  With M15_CONTROL_MODE=1|2 in the
environment this picks the first offered parameter set with that
ControlMode instead (the EV's side of the choice, as -20 allows); nothing
else changes.  Everything else is Josev 0.31.2 as installed.
"""
import os


def _want_control_mode():
    value = os.environ.get("M15_CONTROL_MODE", "")
    return int(value) if value else None


def _patch(want):
    from iso15118.evcc.controller.simulator import SimEVController
    from iso15118.shared.messages.iso15118_20.common_messages import SelectedEnergyService

    original = SimEVController.select_energy_service_v20

    def control_mode_of(parameter_set):
        for p in parameter_set.parameters:
            if getattr(p.name, "value", p.name) == "ControlMode":
                return p.int_value
        return None

    async def select_energy_service_v20(self, services):
        for s in services:
            if not s.is_energy_service:
                continue
            for ps in s.parameter_sets or ():
                if control_mode_of(ps) == want:
                    print("M15 selected service=%s parameter_set=%d control_mode=%d"
                          % (s.service.name, ps.id, want), flush=True)
                    return SelectedEnergyService(service=s.service, is_free=s.is_free,
                                                 parameter_set=ps)
        print("M15 no parameter set with control_mode=%d offered" % want, flush=True)
        return await original(self, services)

    SimEVController.select_energy_service_v20 = select_energy_service_v20


if __name__ == "__main__":
    mode = _want_control_mode()
    if mode is not None:
        _patch(mode)
    from iso15118.evcc.main import run
    run()
