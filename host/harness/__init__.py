"""The test harness that tests, fuzzers and benchmarks share.

Scripted peers for the -20 session (scripted_ev, scripted_secc), the watched
power model (watched_power), the in-test SLAC world (slac_shim), the fuzz
runner, mutators and engines (fuzz/), the XSD-driven message generator
(strategies, xsd_model), the EXI reference vectors (exi_vectors) and the
external EXI codecs used as oracles (exi_oracle, exificient).

Importing the package imports nothing else: the modules the firmware tests
use also run under MicroPython, and only strategies imports Hypothesis.
"""
