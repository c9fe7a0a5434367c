"""The demo backend as the console's child process: serve on a free loopback port until it goes.

Started by `opsconsole --demo` first thing (`opsconsole.app.demoprocess`), so that its imports
and its simulation run on another core than the window's. The contract with the parent:

- the first stdout line is the base URL, once the server listens; nothing else goes to stdout
  (the pipe is never read again, so later writes could fill it and block this process);
- stdin is a pipe from the parent: its end (EOF) means stop, which is how the parent asks on
  quit and what the kernel does for it when the parent dies, however it dies;
- SIGTERM stops in order too, and on Linux the kernel sends it when the parent dies
  (PR_SET_PDEATHSIG), a second guard; SIGINT is ignored: a Ctrl-C in the terminal reaches
  the whole process group, and the console decides when its backend stops;
- exit status 0 after an orderly stop, 1 when it could not listen.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

PR_SET_PDEATHSIG = 1


def trace(step: str) -> None:
    """The console's start trace (opsconsole.app.starttrace), on its clock, when it asks."""
    origin = os.environ.get("OPSCONSOLE_TRACE_ORIGIN")
    if origin and os.environ.get("OPSCONSOLE_TRACE_START", "") not in ("", "0"):
        import time

        ms = (time.time() - float(origin)) * 1000
        print(f"start-trace +{ms:7.1f} demo backend: {step}", file=sys.stderr, flush=True)


def die_with_parent(parent_pid: int | None) -> None:
    """Ask Linux for SIGTERM when the parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        # No prctl (another libc): stdin's end still stops us.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    # The parent may have died before the request above: then nobody would send it.
    if parent_pid is not None and os.getppid() != parent_pid:
        raise SystemExit(0)


def stop_on_stdin_end(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` when stdin ends: the parent closed its end of the pipe, or died."""
    stdin = sys.stdin.fileno()

    def on_stdin() -> None:
        try:
            data = os.read(stdin, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(stdin)
            stop.set()

    # Not a pipe (run by hand from a file): SIGTERM still stops it.
    with contextlib.suppress(OSError, ValueError):
        loop.add_reader(stdin, on_stdin)


async def serve_until_parent_goes(host: str, port: int) -> int:
    """Listen, print the URL, and serve until stdin ends or SIGTERM comes."""
    import asyncio
    import logging

    from opsconsole.sim.server import SimConfig, SimServer

    trace("imports done")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    stop_on_stdin_end(loop, stop)
    server = SimServer(SimConfig())
    try:
        try:
            url = await server.start(host, port)
        except OSError as exc:
            logging.getLogger("opsconsole.sim").error(
                "the demo backend cannot listen on %s:%s: %s", host, port, exc
            )
            return 1
        print(url, flush=True)
        trace("listening, URL said")
        # From now on stdout is stderr: the parent reads one line and never again.
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        await stop.wait()
        return 0
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    # First, before the imports that take time: a Ctrl-C typed while this process starts must
    # not end it with a traceback (the console stops it in order).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    trace("main entered")
    import argparse
    import asyncio
    import logging

    p = argparse.ArgumentParser(prog="opsconsole-demo-backend", add_help=False)
    p.add_argument("--parent-pid", type=int, default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    die_with_parent(args.parent_pid)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return asyncio.run(serve_until_parent_goes(args.host, args.port))


if __name__ == "__main__":
    sys.exit(main())
