"""What a client process measures about itself: wall time, CPU time, peak RSS."""

from __future__ import annotations

import resource
import time
from typing import Any

import attrs


def peak_rss_mb() -> float:
    """This process's own peak resident set size, in MiB.

    On Linux, ``getrusage(RUSAGE_SELF).ru_maxrss`` survives fork and exec: a child of a
    60 MB parent reports at least 60 MB. ``VmHWM`` belongs to the process's own memory
    map, which exec replaces, so it is read first; ``ru_maxrss`` is the fallback.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@attrs.define
class Meter:
    """Started just before the first request and stopped after the last answer."""

    wall0: float = attrs.field(factory=time.perf_counter)
    cpu0: float = attrs.field(factory=time.process_time)

    def result(self) -> dict[str, Any]:
        return {
            "elapsed_s": time.perf_counter() - self.wall0,
            "cpu_s": time.process_time() - self.cpu0,
            "peak_rss_mb": peak_rss_mb(),
        }
