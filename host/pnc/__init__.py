"""Plug-and-Charge on the host (CPython; needs ``cryptography``).

verify    the charger's PnC verifier: the evidence of a signed
          AuthorizationReq (firmware iso20/secc/authorization.py) -> the -20
          ResponseCode; plugs into the Charger's ``pnc`` seam
vehicle   the EV's side for simulators and benches: a software crypto seam,
          the SE050 model's objects from a ``micro15118 pki`` bundle, and the
          Evcc config of a PKI's contract
"""
