"""`opsconsole-sim`: run the reference backend; prints its base URL as the first stdout line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from opsconsole.sim.server import SimConfig, SimServer

log = logging.getLogger("opsconsole.sim")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="opsconsole-sim",
        description="Reference backend speaking Ops API v1: a simulated e-commerce system.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one")
    auth = p.add_mutually_exclusive_group()
    auth.add_argument("--token", help="bearer token required on every call but health")
    auth.add_argument("--token-env", metavar="VAR", help="read the bearer token from $VAR")
    p.add_argument("--readonly-token", help="token that may read but not act (403 on actions)")
    p.add_argument("--tick", type=float, default=1.0, help="sample period in seconds")
    p.add_argument(
        "--time-scale", type=float, default=1.0, help="divide every simulated duration by this"
    )
    p.add_argument("--services", type=int, default=8, help="service count (>8 adds synthetic)")
    p.add_argument("--seed", type=int, default=None, help="seed the simulation for repeatable runs")
    p.add_argument(
        "--no-websocket", action="store_true", help="refuse WebSocket upgrades (as some proxies do)"
    )
    p.add_argument("--no-sse", action="store_true", help="refuse the SSE stream as well")
    p.add_argument(
        "--no-slo",
        action="store_true",
        help="serve the core contract only: no SLOs, deploys or rollback",
    )
    p.add_argument("--log-level", default="INFO", help="log level on stderr (default INFO)")
    return p.parse_args(argv)


def config_from(args: argparse.Namespace) -> SimConfig:
    token = args.token
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise SystemExit(f"opsconsole-sim: environment variable {args.token_env} is not set")
    try:
        return SimConfig(
            tick_s=args.tick,
            time_scale=args.time_scale,
            services=args.services,
            token=token,
            readonly_token=args.readonly_token,
            seed=args.seed,
            offer_websocket=not args.no_websocket,
            offer_sse=not args.no_sse,
            offer_slo=not args.no_slo,
        )
    except ValueError as exc:
        raise SystemExit(f"opsconsole-sim: {exc}") from None


async def serve(config: SimConfig, host: str, port: int) -> None:
    server = SimServer(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        url = await server.start(host, port)
        # The first stdout line is the contract with scripts and tests: flush it at once.
        print(url, flush=True)
        log.info(
            "auth: %s; tick %.3g s; time scale %g; %d services",
            "bearer token required" if config.token or config.readonly_token else "none (demo)",
            config.tick_s,
            config.time_scale,
            config.services,
        )
        await stop.wait()
        log.info("signal received; stopping")
    finally:
        await server.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = config_from(args)
    try:
        asyncio.run(serve(config, args.host, args.port))
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", args.host, args.port, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
