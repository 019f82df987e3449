"""The XSD-driven message strategies (tests/strategies.py) against our EXI codec:
every generated message must survive encode -> decode unchanged."""
import random

import pytest
from hypothesis import HealthCheck, given, settings

import exi
import strategies

SCHEMAS = list(strategies.SCHEMAS)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_round_trip(schema):
    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategies.message(schema))
    def check(msg):
        assert exi.decode(schema, exi.encode(schema, msg)) == msg

    check()


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_message_type_is_generated(schema):
    roots = strategies.message_types(schema)
    assert roots and all(r.endswith(("Req", "Res")) for r in roots)
    rnd = random.Random(0)
    for root in roots:
        msg = strategies.random_message(schema, root, rnd)
        assert list(msg) == [root]
        assert exi.decode(schema, exi.encode(schema, msg)) == msg
