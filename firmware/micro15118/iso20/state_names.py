"""The -20 message pairs by name: the states of both the SECC (the request
it waits for) and the EVCC (the request it sends).  secc/states.py and
evcc/states.py say how each role moves between them."""

SAP = "SupportedAppProtocol"
SESSION_SETUP = "SessionSetup"
AUTH_SETUP = "AuthorizationSetup"
AUTH = "Authorization"
DISCOVERY = "ServiceDiscovery"
DETAIL = "ServiceDetail"
SELECTION = "ServiceSelection"
CPD = "ChargeParameterDiscovery"
SCHEDULE = "ScheduleExchange"
CABLE_CHECK = "CableCheck"
PRE_CHARGE = "PreCharge"
POWER_DELIVERY = "PowerDelivery"
LOOP = "ChargeLoop"
WELDING = "WeldingDetection"
SESSION_STOP = "SessionStop"
