"""Name this machine's training device without importing Keras.

`training.describe_device` records a device name in every run's metrics.json, e.g.
'CPU: AMD EPYC (2 cores)'; `machine_name` gives the same name from the operating system alone,
so that `mnist-cnn reproduce` can find the runs recorded on this machine before it loads Keras.
"""

import os
import platform
from pathlib import Path

NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")  # one folder per GPU the NVIDIA driver sees


def cpu_name():
    """Return the processor's model name."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name():
    """Return the first NVIDIA GPU's model name, or None where no GPU is listed or visible."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", "0").strip() in ("", "-1"):
        return None
    try:
        for info in sorted(NVIDIA_GPUS.glob("*/information")):
            for line in info.read_text().splitlines():
                if line.startswith("Model:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_device(cpu=None, cores=None):
    """Return a CPU's device name as runs record it, by default this machine's."""
    return f"CPU: {cpu or cpu_name()} ({cores or os.cpu_count()} cores)"


def machine_name():
    """Return the device name `training.describe_device` would likely record here."""
    # A best guess: where the installed backend cannot use the GPU, Keras records the CPU.
    gpu = gpu_name()
    return f"GPU: {gpu}" if gpu else cpu_device()
