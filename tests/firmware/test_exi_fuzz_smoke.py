# Mutated streams under the interpreter the firmware really runs on: each one
# decodes (and then re-encodes to a stream that decodes the same) or raises
# exi.ExiError; tools/fuzz_exi.py does the long runs on CPython.
import random

from micro15118 import exi
import vector_dicts

SCHEMAS = ("appProtocol", "-20:CommonMessages", "-20:AC", "-20:DC")


def mutate(data):
    data = bytearray(data)
    op = random.getrandbits(2)
    if op == 0 and len(data) > 1:
        i = random.getrandbits(16) % len(data)
        data[i] ^= 1 << random.getrandbits(3)
    elif op == 1:
        data = data[:random.getrandbits(16) % (len(data) + 1)]
    elif op == 2 and len(data) > 1:
        data[random.getrandbits(16) % len(data)] = random.getrandbits(8)
    else:
        data = bytearray(b"\x80") + bytearray(random.getrandbits(8) for _ in range(random.getrandbits(5)))
    return bytes(data)


def test_mutated_vectors_decode_or_raise_exi_error():
    random.seed(15118)
    seeds = [v["exi"] for v in vector_dicts.load() if not v["args"]]
    accepted = 0
    for n in range(3000):
        data = mutate(seeds[n % len(seeds)])
        schema = SCHEMAS[n % 4]
        try:
            msg = exi.decode(schema, data)
        except exi.ExiError:
            continue
        accepted += 1
        assert exi.decode(schema, exi.encode(schema, msg)) == msg
    assert accepted > 50
