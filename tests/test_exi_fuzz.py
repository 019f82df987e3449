"""A short run of the EXI fuzzer (host/harness/fuzz/exi.py): mutated streams
decode or raise ExiError, never anything else."""
import os

from host.harness import exi_vectors
from host.harness.fuzz import exi, runner


def test_corpus_is_the_reference_vectors():
    assert len(exi.corpus()) == len(exi_vectors.load())


def test_mutated_streams_only_ever_raise_exi_error():
    tally = runner.run(exi.TARGETS, "decode", 30000, seed=int(os.environ.get("FUZZ_SEED", "3")))
    assert not tally.failures, tally.failures[:3]
    assert tally.accepted > 300 and tally.rejected > 10000   # the mix exercises both paths
