"""TLS 1.3 offload for the MCU: the host terminates TLS, the private key stays
in the SE050 (Plug-and-Charge; issue 12)."""
