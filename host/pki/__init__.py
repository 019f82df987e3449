"""The V2G PKI tool: root, sub-CA, leaf and contract certificates with the
ISO 15118-20 profiles (Plug-and-Charge; issue 12)."""
