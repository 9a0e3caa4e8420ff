"""Name this machine's training device without importing Keras.

`training.describe_device` records a device name in every run's metrics.json, e.g.
'CPU: AMD EPYC (2 cores)'; `machine_name` gives the same name from the operating system alone,
so that `mnist-cnn reproduce` can find the runs recorded on this machine before it loads Keras.
`tensorflow_cpu_kernels` tells apart two machines of one name that TensorFlow computes on with
different libraries.
"""

import os
import platform
from pathlib import Path

NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")  # one folder per GPU the NVIDIA driver sees
CPUINFO = Path("/proc/cpuinfo")
# On Linux x86, TensorFlow computes on the CPU with oneDNN by default only where the CPU has one
# of these (its DefaultOneDnnPolicy), elsewhere with Eigen, which is slower on convolutions; CPUs
# of one name (e.g. "AMD EPYC") come both ways, so the name alone cannot time a run.
ONEDNN_DEFAULT_FLAGS = {"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8",
                        "amx_bf16"}


def _cpuinfo_field(name):
    """Return the first value of `name` in /proc/cpuinfo, or None where there is none."""
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.split(":", 1)[0].strip() == name:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name():
    """Return the processor's model name."""
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def tensorflow_cpu_kernels():
    """Return the library TensorFlow computes with on this CPU: 'oneDNN', 'Eigen' or None."""
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
    if setting in ("1", "true", "0", "false"):  # the switch TensorFlow reads first
        return "oneDNN" if setting in ("1", "true") else "Eigen"
    flags = _cpuinfo_field("flags")
    if flags is None or platform.machine() not in ("x86_64", "AMD64"):
        return None  # unknown: the policy differs off Linux x86
    return "oneDNN" if ONEDNN_DEFAULT_FLAGS & set(flags.split()) else "Eigen"


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
