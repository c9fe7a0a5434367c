"""Bootstrap: arguments, logging, the one event loop, wiring, orderly shutdown."""

from opsconsole.app.cli import main

__all__ = ["main"]
