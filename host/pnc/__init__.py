"""Plug-and-Charge on the host (CPython; needs ``cryptography``).

verify    the charger's PnC verifier: the evidence of a signed
          AuthorizationReq (firmware iso20/secc/authorization.py) -> the -20
          ResponseCode; plugs into the Charger's ``pnc`` seam
cps       the CertificateInstallation back end (CSMS + MO + CPS stand-in):
          the evidence of a signed CertificateInstallationReq
          (iso20/secc/certificate_installation.py) -> a new contract, its
          key wrapped for the EV, SignedInstallationData signed by the CPS;
          plugs into the Charger's ``cert_install`` seam
vehicle   the EV's side for simulators and benches: a software crypto seam,
          the SE050 model's objects from a ``micro15118 pki`` bundle, the
          Evcc config of a PKI's contract (or of a vehicle that installs
          one), and the EV's judge of a CertificateInstallationRes (the
          Vehicle's ``cps_verifier`` seam)
"""
