"""opsconsole: a desktop operations console for SREs and NOC staff."""

__version__ = "0.1.0"
