"""A short run of the certificate fuzzer (host/harness/fuzz/cert.py) on the
PnC verifier, the -20 profile checker, TLS path validation and the TLS
endpoints' Certificate handling, and proof that the harness reports a
planted bug: a chain check that passes forged chains, a verifier that
skips the signature, a path validator that trusts any signature, and an
exception of an unexpected class.

Only tlslite-ng's own X.509 parser (it parses a TLS Certificate message
before our code sees it) may still raise; the connection then ends with an
internal_error alert.  test_no_unexpected_at_all is the acceptance criterion:
zero unexpected, that one third-party escape aside.
"""
import os
import random

import pytest

from host.harness.fuzz import cert, runner

SEED = int(os.environ.get("FUZZ_SEED", "3"))

# Exception classes known to escape today (a wrong verdict is never known):
# none.  cryptography parses a certificate's fields lazily and raises many
# classes for a malformed one (KeyError, UnsupportedAlgorithm,
# DuplicateExtension, InvalidVersion, ...); host/pki/profile, host/tls/validate
# and endpoint, and host/pnc turn each into their own rejection.
KNOWN = set()
# tlslite-ng's own X.509 parser (it parses each certificate of a TLS
# Certificate message before our hook sees it) raises what it raises; the
# connection's guard turns that into an internal_error alert.
THIRD_PARTY = ("tlslite/",)


def run(target, runs):
    """runner.run, keeping every failure."""
    tally = runner.Tally(target, runs, keep=10 ** 6)
    cert.TARGETS[target](tally, random.Random("%s:%d" % (target, SEED)))
    return tally


def unknown_kinds(tally):
    """The unexpected outcomes (tally.kinds) that are neither a KNOWN class
    nor raised in THIRD_PARTY code; a wrong verdict is always one."""
    out = []
    for kind in getattr(tally, "kinds", {}):
        if not kind.startswith("UNEXPECTED "):
            continue
        words = kind.split()
        if words[1] == "a" and "masked" in words:        # "a KeyError masked as ..."
            cls, where = words[2], ""
        elif len(words) >= 4 and words[2] == "@":         # "KeyError @ file:line [via ...]"
            cls, where = words[1], words[3]
        else:
            out.append(kind)                              # a wrong verdict
            continue
        if cls not in KNOWN and not where.startswith(THIRD_PARTY):
            out.append(kind)
    return out


@pytest.mark.parametrize("target,runs,accepted,rejected", [
    ("der", 3000, 80, 2000),
    ("chain", 800, 20, 500),
    ("pnc", 800, 20, 500),
    ("tls", 1500, 100, 800),
    ("peer", 1500, 100, 800),
])
def test_short_run(target, runs, accepted, rejected):
    tally = run(target, runs)
    assert tally.inputs == runs
    assert tally.accepted >= accepted and tally.rejected >= rejected, (tally.summary(), tally.kinds)
    unknown = unknown_kinds(tally)
    assert not unknown, (unknown, [t[:300] for t in tally.failures][:5])


def test_seeds_are_genuine_and_the_tree_round_trips():
    s = cert.seeds()
    for der in s.pool + s.ocsp_ders:
        assert b"".join(cert.ser(n) for n in cert.parse_der(der)) == der
    assert s.ok_chains["contract_leaf"] == {tuple(s.good_chain)}
    from host.pnc.verify import Verifier
    assert Verifier.from_pki(s.main.dir).check(s.good_evidence) == ("OK", [])


def test_harness_catches_a_chain_check_that_passes_forged_chains(monkeypatch):
    from host.pki import profile
    monkeypatch.setattr(profile, "issued_by", lambda cert_, issuer: cert_.issuer == issuer.subject)
    tally = runner.run(cert.TARGETS, "chain", 400, SEED)
    assert any("no violation for a chain that is not" in t for t in tally.failures), tally.kinds


def test_harness_catches_a_verifier_that_skips_the_signature(monkeypatch):
    from host.pnc import verify
    monkeypatch.setattr(verify, "_verify", lambda key, method, raw, octets: None)
    tally = runner.run(cert.TARGETS, "pnc", 400, SEED)
    assert any(t.startswith("Unexpected: OK for") for t in tally.failures), tally.kinds


def test_harness_catches_a_path_validator_that_trusts_any_signature(monkeypatch):
    from host.tls import validate
    monkeypatch.setattr(validate, "_signature_ok", lambda c, issuer: True)
    for target in ("tls", "peer"):
        tally = runner.run(cert.TARGETS, target, 400, SEED)
        assert any("not genuine" in t for t in tally.failures), (target, tally.kinds)


def test_harness_reports_an_escaping_exception(monkeypatch):
    from host.pki import profile
    real = profile.check_validity

    def validity(c, at, label):
        if c.serial_number % 3 == 0:
            raise IndexError("planted")
        return real(c, at, label)
    monkeypatch.setattr(profile, "check_validity", validity)
    tally = runner.run(cert.TARGETS, "der", 300, SEED)
    assert any(t.startswith("IndexError: planted") for t in tally.failures)
    assert any(k.startswith("UNEXPECTED IndexError @ ") for k in tally.kinds), tally.kinds


def test_no_unexpected_at_all():
    for target in cert.TARGETS:
        tally = runner.run(cert.TARGETS, target, 1000, SEED)
        assert not unknown_kinds(tally), (target, tally.kinds)


def test_unknown_kinds_tells_findings_from_known_escapes():
    tally = runner.Tally("x", 1)
    tally.kinds = {"UNEXPECTED KeyError @ host/tls/validate.py:126": 3,
                   "UNEXPECTED KeyError @ tlslite/x509.py:100": 1,
                   "UNEXPECTED IndexError @ tlslite/x509.py:106": 1,
                   "UNEXPECTED a TypeError masked as WARNING_GeneralPnCAuthorizationError: x": 1,
                   "UNEXPECTED IndexError @ host/pki/profile.py:12": 1,
                   "UNEXPECTED OK for signed mutated[0]": 1,
                   "violations": 9}
    # only tlslite-ng's parser may raise; our code's escapes are findings
    assert sorted(unknown_kinds(tally)) == ["UNEXPECTED IndexError @ host/pki/profile.py:12",
                                            "UNEXPECTED KeyError @ host/tls/validate.py:126",
                                            "UNEXPECTED OK for signed mutated[0]",
                                            "UNEXPECTED a TypeError masked as WARNING_GeneralPnCAuthorizationError: x"]
