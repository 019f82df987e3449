"""TLS 1.3 offload for the MCU: the host terminates TLS, the private key stays
in the SE050 (Plug-and-Charge; issue 12).

The MCU's TCP stack carries the TLS records; :class:`TlsServer` (SECC) and
:class:`TlsClient` (EVCC) are sans-socket endpoints driven with bytes (see
:mod:`host.tls.endpoint`), built on tlslite-ng 0.8.2 (pinned: non-public
methods are overridden, see :mod:`host.tls._tlslite`).  The one handshake
signature goes to a ``signer(digest, algorithm)`` callback
(:mod:`host.tls.signer`)."""

import importlib
import warnings

with warnings.catch_warnings():
    # tlslite's package __init__ imports its asyncore integration
    warnings.simplefilter("ignore", DeprecationWarning)
    importlib.import_module("tlslite")

from .endpoint import (CLOSED, FAILED, GROUPS, HANDSHAKE, OPEN, SIG_ALGS,
                       SIG_ALGS_ED448, SUITES, TlsClient, TlsError, TlsServer)
from .signer import SoftwareSigner
from .validate import ChainError, OcspError, check_ocsp, validate_chain

__all__ = ["TlsServer", "TlsClient", "TlsError", "SoftwareSigner",
           "validate_chain", "check_ocsp", "ChainError", "OcspError",
           "HANDSHAKE", "OPEN", "CLOSED", "FAILED",
           "SUITES", "GROUPS", "SIG_ALGS", "SIG_ALGS_ED448"]
