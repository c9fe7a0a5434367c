"""One TLS setting per backend for every transport, and TLS failures in the operator's words."""

from __future__ import annotations

import ssl


def client_context(verify: bool) -> ssl.SSLContext:
    """The context both HTTP and WebSocket use, so `verify_tls = false` means the same on both."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def tls_problem(exc: BaseException) -> str | None:
    """Plain words for a TLS failure anywhere in `exc`'s chain, or None when it is not one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            reason = current.verify_message or current.reason or "not verified"
            if "hostname" in reason.lower() or "ip address mismatch" in reason.lower():
                return f"certificate does not match the host: {reason}"
            return f"certificate not trusted: {reason}"
        if isinstance(current, ssl.SSLError):
            return f"TLS failed: {current.reason or current}"
        current = current.__cause__ or current.__context__
    return None
