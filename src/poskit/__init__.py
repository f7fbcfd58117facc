"""poskit: an open card-payment POS stack.

The terminal application, the ISO 8583 acquirer host with real PIN and MAC
cryptography, the double-entry ledger and the merchant portal.
"""

#: The one version number: package metadata (pyproject reads it here), CLI, portal, API and the
#: software version terminals report.
__version__ = "0.1.0"
__all__ = ["__version__"]
