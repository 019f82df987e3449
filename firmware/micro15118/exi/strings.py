"""EXI string table value partitions (EXI 1.0 section 7.3.3).

A string value already seen is sent as a "local hit" (same element or
attribute name: its index in that name's partition) or a "global hit" (its
index among all values).  New values enter both partitions if they are
non-empty, at most `max_length` characters long, and the partition capacity
allows; once the global partition is full, new values overwrite the oldest.
The V2G profile switches all this off (capacity 0), which is the codec's
default: then no table is made at all.
"""


def width(n):
    """Bits of an index into a partition of n entries: ceil(log2(n))."""
    bits = 0
    n -= 1
    while n > 0:        # MicroPython ints have no bit_length()
        bits += 1
        n >>= 1
    return bits


class ValueTable:
    def __init__(self, capacity=None, max_length=None):
        self.capacity = capacity        # None: unbounded
        self.max_length = max_length    # None: unbounded
        self.values = []                # global id -> (value, qname, local id)
        self.next_id = 0                # where the next value goes once full
        self.local = {}                 # qname -> list of values (None: evicted)
        self.global_ids = {}            # value -> global id (for encoding)
        self.local_ids = {}             # (qname, value) -> local id (for encoding)

    def add(self, qn, value):
        n = len(value)
        if n == 0 or (self.max_length is not None and n > self.max_length) or self.capacity == 0:
            return
        part = self.local.get(qn)
        if part is None:
            part = self.local[qn] = []
        entry = (value, qn, len(part))
        if self.capacity is None or len(self.values) < self.capacity:
            gid = len(self.values)
            self.values.append(entry)
        else:
            gid = self.next_id
            old, old_qn, old_lid = self.values[gid]
            self.local[old_qn][old_lid] = None
            del self.global_ids[old]
            del self.local_ids[(old_qn, old)]
            self.values[gid] = entry
            self.next_id = (gid + 1) % self.capacity
        part.append(value)
        self.global_ids[value] = gid
        self.local_ids[(qn, value)] = entry[2]

    def local_width(self, qn):
        return width(len(self.local.get(qn, ())))

    def global_width(self):
        return width(len(self.values))
