"""The OCPP 2.0.1 charging-station client on the charger host (issue 13)."""
