"""Run a sans-socket endpoint over a real TCP socket (tests, the benchmark,
and simulations without an MCU in the path).  In the product the MCU's TCP
stack takes this module's place."""

import select
import socket
import time

from .endpoint import CLOSED, FAILED, OPEN


def pump(endpoint, sock, until=None, timeout=10.0, on_plaintext=None):
    """Move bytes between ``sock`` and ``endpoint`` until ``until(endpoint)``
    is true, the endpoint failed or closed, or the peer closed the socket.
    ``on_plaintext(endpoint, data)`` gets decrypted data as it arrives
    (default: it stays in ``endpoint.plaintext_out()``).  Returns the
    endpoint's state.  Raises TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    start = getattr(endpoint, "start", None)
    if start is not None:
        start()
    while True:
        out = endpoint.records_out()
        if out:
            try:
                sock.sendall(out)
            except OSError:
                endpoint.feed_eof()
        if on_plaintext is not None:
            data = endpoint.plaintext_out()
            if data:
                on_plaintext(endpoint, data)
                out = endpoint.records_out()
                if out:
                    sock.sendall(out)
        if endpoint.state in (FAILED, CLOSED):
            return endpoint.state
        if until is not None and until(endpoint):
            return endpoint.state
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("TLS pump timed out in state %s"
                               % endpoint.state)
        r, _, _ = select.select([sock], [], [], min(left, 0.5))
        if not r:
            continue
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, OSError):
            data = b""
        if data:
            endpoint.feed_records(data)
        else:
            endpoint.feed_eof()
            out = endpoint.records_out()
            if out:
                try:
                    sock.sendall(out)
                except OSError:
                    pass
            return endpoint.state


def handshake(endpoint, sock, timeout=10.0):
    """Pump until the handshake is over; returns True if it succeeded."""
    return pump(endpoint, sock, until=lambda ep: ep.state == OPEN,
                timeout=timeout) == OPEN


def listen(host="127.0.0.1", port=0):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(8)
    return srv
