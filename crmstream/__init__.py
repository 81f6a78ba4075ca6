"""crmstream: a real-time customer stream processor for CRMs with a shared customer pool."""

__version__ = "0.1.0"
