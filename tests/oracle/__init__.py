"""Tests of the external EXI oracle (host/harness/exi_oracle.py: the EXI codec
jar bundled with python-iso15118, "Josev") and its known defects (DEFECTS.md)."""
