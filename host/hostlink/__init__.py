"""The host PC's end of the MCU-host serial link (issue 12): the firmware's
protocol (micro15118.hostlink, imported, not copied) over pyserial, a pty
or a socket, with the Link's supervision run by a thread or a poll loop.

    from host.hostlink import HostLink, SerialTransport
    hl = HostLink(SerialTransport("/dev/ttyACM0"))     # or "socket://host:port", "loop://"
"""
from .endpoint import HostLink, HostLinkError
from .transport import FdTransport, PtyPair, SerialTransport

__all__ = ["HostLink", "HostLinkError", "FdTransport", "PtyPair", "SerialTransport"]
