"""The serial link between the MCU (ISO 15118-20 stack, secure element) and
its host PC (TLS 1.3 termination, OCPP, configuration): USB CDC or UART.

    frame.py  COBS framing, CRC-32, FrameEncoder / FrameDecoder
    msg.py    message types (protocol 1.0) and their payload codecs
    link.py   Link: one end (HELLO handshake, keepalive, loss, requests)
    port.py   UartPort: a Link over machine.UART (the MCU's I/O edge)

Sans-I/O like the rest of the firmware; the host runs the same code
(host/hostlink).  Nothing is imported here, so an image takes only what it uses.
"""
