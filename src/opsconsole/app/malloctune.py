"""Fixes glibc malloc's large-allocation threshold so the console's memory stays flat for hours."""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)

# Why: glibc raises its mmap threshold to the size of every mmapped block that is freed (up to
# 32 MiB), so after the first wall-sized image (a 1920x1080 pixmap is 8 MiB) is freed, the next
# ones come from the heap, which fragments and does not shrink. Measured with `bench/soak.py`
# (200 services, `--wall --rotate=10`, data 4x faster, 10 minutes, growth after minute 5):
# without this the console grew in 4-11 MiB steps, 259 -> 284 MiB (298 MB/h); with the
# threshold fixed at 1 MiB it stayed at 249.5 MiB (0.2 MB/h; 128 KiB did the same, 0.1 MB/h),
# CPU unchanged (9.4 % against 9.1 %). The default window was flat either way. A fixed value
# turns the dynamic adjustment off, which is the point; allocations under 1 MiB (most numpy
# temporaries) still come from the heap, so the hot path pays no extra system call.
MMAP_THRESHOLD_BYTES = 1 << 20


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Set glibc's mmap threshold once, first thing; False (and nothing done) off glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # no libc symbols (static build) or not glibc (musl)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(M_MMAP_THRESHOLD, threshold))
    if not done:
        log.debug("mallopt(M_MMAP_THRESHOLD, %d) refused", threshold)
    return done
