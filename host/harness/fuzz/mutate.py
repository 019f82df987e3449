"""Mutators: the byte-level damage every fuzzer does to its valid inputs.

A mutation op is a function ``op(rnd, data, seeds) -> data`` working on a
bytearray (it may edit it in place or return a new one); ``seeds`` are the
fuzzer's valid inputs, for splices.  ``mutate()`` applies a few ops drawn
from a tuple, so each fuzzer names its mix: the basic ops below, plus field
edits for its protocol (the ``set_*`` op makers) and ops of its own.  An op
that does not apply (an edit past the end of a short input) does nothing.

Everything is drawn from ``rnd``, so a seed reproduces a run.

    OPS = BASIC + (set_byte_at((14,), (0, 1, 0xFF)),)
    data = mutate(rnd, seed, seeds, OPS)
"""
import struct

from micro15118.net import ipv6

ROUNDS = (1, 1, 1, 2, 3, 6)     # ops per mutation: mostly one, sometimes a pile-up
INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


def mutate(rnd, data, seeds, ops, rounds=ROUNDS):
    data = bytearray(data)
    for _ in range(rnd.choice(rounds)):
        data = rnd.choice(ops)(rnd, data, seeds)
    return bytes(data)


# -- the basic ops -------------------------------------------------------------

def flip_bit(rnd, data, seeds):
    if data:
        data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    return data


def random_byte(rnd, data, seeds):
    if data:
        data[rnd.randrange(len(data))] = rnd.randrange(256)
    return data


def truncate(rnd, data, seeds):
    del data[rnd.randrange(len(data) + 1):]
    return data


def splice(rnd, data, seeds):
    """The head of this input, the tail of another."""
    other = rnd.choice(seeds)
    return data[:rnd.randrange(len(data) + 1)] + bytearray(other[rnd.randrange(len(other) + 1):])


def insert_random(most):
    def op(rnd, data, seeds):
        i = rnd.randrange(len(data) + 1)
        data[i:i] = rnd.randbytes(rnd.randrange(1, most + 1))
        return data
    return op


def append_random(lengths):
    def op(rnd, data, seeds):
        data += rnd.randbytes(rnd.choice(lengths))
        return data
    return op


def append_zeros(lengths):
    def op(rnd, data, seeds):
        data += bytes(rnd.choice(lengths))
        return data
    return op


def delete_run(most):
    def op(rnd, data, seeds):
        if data:
            i = rnd.randrange(len(data))
            del data[i:i + rnd.randrange(1, most + 1)]
        return data
    return op


def duplicate_chunk(rnd, data, seeds):
    if data:
        i = rnd.randrange(len(data))
        data[i:i] = data[i:i + rnd.randrange(1, 16)]
    return data


def set_byte(values):
    """Any byte becomes one of `values` (edge values, sync bytes...)."""
    def op(rnd, data, seeds):
        if data:
            data[rnd.randrange(len(data))] = rnd.choice(values)
        return data
    return op


BASIC = (flip_bit, random_byte, truncate, insert_random(8), delete_run(8), splice, set_byte(INTERESTING))


# -- field edits -----------------------------------------------------------------

def set_byte_at(offsets, values):
    """The byte at one of `offsets` (a header field) becomes one of `values`."""
    def op(rnd, data, seeds):
        i = rnd.choice(offsets)
        if i < len(data):
            data[i] = rnd.choice(values)
        return data
    return op


def set_u16le_at(offset, values):
    def op(rnd, data, seeds):
        if offset + 2 <= len(data):
            struct.pack_into("<H", data, offset, rnd.choice(values))
        return data
    return op


# HomePlug AV management messages (SLAC, vendor MMEs): MMV at 14, MMTYPE at 15.
def set_mmv(values=(0, 1, 2, 0xFF)):
    return set_byte_at((14,), values)


def set_mmtype(mmtypes):
    return set_u16le_at(15, mmtypes)


# -- IPv6 frames -------------------------------------------------------------------

ETH_IPV6 = 14 + 40          # Ethernet + IPv6 header: where the upper layer starts
_CHECKSUM_AT = {ipv6.NH_TCP: 16, ipv6.NH_UDP: 6, ipv6.NH_ICMPV6: 2}


def repair_ipv6(rnd, data, keep=0.25, fix_length=0.5):
    """Usually make a mutated Ethernet/IPv6 frame pass the cheap checks again:
    the payload length (with probability `fix_length`) and the upper-layer
    checksum, so the mutation reaches the protocol above.  With probability
    `keep` the frame stays as it is."""
    if len(data) < ETH_IPV6 or (data[12] << 8 | data[13]) != 0x86DD or rnd.random() < keep:
        return bytes(data)
    data = bytearray(data)
    if rnd.random() < fix_length:
        struct.pack_into(">H", data, 18, len(data) - ETH_IPV6)
    p = ipv6.parse(bytes(data[14:]))
    if p is None:
        return bytes(data)
    src, dst, nh, hop, payload = p
    end = ETH_IPV6 + ((data[18] << 8) | data[19])      # payload end; padding follows
    start = end - len(payload)                          # after any extension header
    off = _CHECKSUM_AT.get(nh)
    if off is None or start + off + 2 > end:
        return bytes(data)
    data[start + off] = data[start + off + 1] = 0
    c = ipv6.upper_checksum(src, dst, nh, bytes(data[start:end]))
    if nh == ipv6.NH_UDP and c == 0:
        c = 0xFFFF
    struct.pack_into(">H", data, start + off, c)
    return bytes(data)
