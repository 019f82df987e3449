"""The one exception type the EXI codec raises for bad input or bad values."""


class ExiError(ValueError):
    """Malformed or unsupported EXI, or a message that does not fit the schema.

    `pos` is the bit position in the stream where the problem was found
    (None when encoding a value that does not fit its type).
    """

    def __init__(self, msg, pos=None):
        if pos is not None:
            msg = "%s at bit %d (byte %d)" % (msg, pos, pos >> 3)
        super().__init__(msg)
        self.pos = pos
