"""The CSMS simulator that the OCPP client talks to in tests and in
`micro15118 sim` (issue 13)."""
