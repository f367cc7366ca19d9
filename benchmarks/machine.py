"""The machine a measurement ran on: CPU model and vector flags, load average.

Shared by ``benchmarks/bench_train.py`` and ``scripts/measure_notebooks.py`` so
that both describe the machine the same way.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> str:
    """The vector extensions that decide BLAS's kernels, e.g. ``avx2, fma``."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    flags = set(next((ln.split(":", 1)[1].split() for ln in text.splitlines()
                      if ln.startswith("flags")), []))
    return ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_bf16") if f in flags)


def load_average() -> str:
    """``"0.52, 0.61, 0.70"``: the 1, 5 and 15 minute load averages."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())
