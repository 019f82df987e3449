"""A short run of tools/fuzz_exi.py: mutated streams decode or raise ExiError, never anything else."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import fuzz_exi  # noqa: E402
import vectors  # noqa: E402

# Seed the fuzzer with the in-repository vectors: its own default looks beside
# the checkout and quietly falls back to a one-stream corpus when it is absent.
fuzz_exi.VECTORS = vectors.VECTORS


def test_corpus_is_the_reference_vectors():
    assert len(fuzz_exi.corpus()) == len(vectors.load())


def test_mutated_streams_only_ever_raise_exi_error():
    accepted, rejected, failures = fuzz_exi.run(30000, seed=int(os.environ.get("FUZZ_SEED", "3")), report_every=0)
    assert not failures, failures[:3]
    assert accepted > 300 and rejected > 10000   # the mix exercises both paths
