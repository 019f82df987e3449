"""The V2G PKI tool: root, sub-CA, leaf and contract certificates with the
ISO 15118-20 profiles (Plug-and-Charge; issue 12).  ``micro15118 pki``
(host/cli/pki.py) drives it; docs/pki.md is the guide.

roles      who issues whom, each role's profile, and the sources of both
profile    the -20 profile checker: ``check_chain(...) -> [Violation]``,
           ``response_code(violations)``, ``path_checker(role)`` for TLS
ca         the PKI directory: keys, issuing, renewal, revocation, CRL, OCSP
se050      SE050 provisioning bundles and their object-ID map
variants   bad chains for tests, each with the answer a peer must give
emaid      eMAID format and check character
report     what ``pki inspect`` prints and checks
"""
