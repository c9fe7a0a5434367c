"""glibc's mmap threshold stays fixed: a large block is mmapped after a larger one was freed."""

from __future__ import annotations

import ctypes
import sys

import pytest

from opsconsole.app.malloctune import MMAP_THRESHOLD_BYTES, fix_mmap_threshold

MIB = 1 << 20


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


@pytest.fixture
def libc() -> ctypes.CDLL:
    assert sys.platform.startswith("linux"), "the console's target is Linux with glibc"
    lib = ctypes.CDLL(None)
    lib.malloc.restype = ctypes.c_void_p
    lib.malloc.argtypes = (ctypes.c_size_t,)
    lib.free.argtypes = (ctypes.c_void_p,)
    lib.mallinfo2.restype = MallInfo2
    return lib


def mmapped_bytes(libc: ctypes.CDLL) -> int:
    return int(libc.mallinfo2().hblkhd)


def test_a_large_block_is_mmapped_even_after_a_larger_one_was_freed(libc: ctypes.CDLL) -> None:
    assert fix_mmap_threshold()
    # Without a fixed threshold, freeing this 16 MiB mmapped block raises glibc's threshold to
    # 16 MiB, and the 8 MiB block after it would come from the heap that never shrinks.
    big = libc.malloc(16 * MIB)
    libc.free(big)
    before = mmapped_bytes(libc)
    image = libc.malloc(8 * MIB)
    try:
        assert mmapped_bytes(libc) - before >= 8 * MIB
    finally:
        libc.free(image)
    assert mmapped_bytes(libc) == before  # and it went back to the system when freed


def test_blocks_under_the_threshold_stay_on_the_heap(libc: ctypes.CDLL) -> None:
    assert fix_mmap_threshold()
    before = mmapped_bytes(libc)
    small = libc.malloc(MMAP_THRESHOLD_BYTES // 4)
    try:
        assert mmapped_bytes(libc) == before
    finally:
        libc.free(small)
