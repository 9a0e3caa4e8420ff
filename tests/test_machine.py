"""mnist_cnn.machine: the device name training records, found without Keras, on a made-up machine."""

import sys
from types import SimpleNamespace

import pytest

from mnist_cnn import machine, training


def fake_tensorflow(gpu_names):
    """Return a stand-in for the tensorflow module that lists `gpu_names` as its GPUs."""
    gpus = [SimpleNamespace(name=f"/physical_device:GPU:{i}", device_type="GPU")
            for i in range(len(gpu_names))]
    details = {gpu.name: {"device_name": name} for gpu, name in zip(gpus, gpu_names)}
    return SimpleNamespace(config=SimpleNamespace(
        list_physical_devices=lambda kind=None: gpus if kind == "GPU" else [],
        experimental=SimpleNamespace(get_device_details=lambda gpu: details[gpu.name])))


@pytest.fixture
def made_up_machine(monkeypatch, tmp_path):
    """Give both names one made-up machine: an NVIDIA driver folder and TensorFlow's GPU list.

    Returns a function that installs GPUs by model name (none until it is called), so the test
    reads neither this machine's /proc/driver/nvidia nor its accelerator stack.
    """
    driver = tmp_path / "nvidia" / "gpus"
    driver.mkdir(parents=True)
    monkeypatch.setattr(machine, "NVIDIA_GPUS", driver)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(training.keras.backend, "backend", lambda: "tensorflow")
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow([]))

    def install_gpus(*models, visible=True):
        for index, model in enumerate(models):
            folder = driver / f"0000:0{index}:00.0"
            folder.mkdir()
            (folder / "information").write_text(f"Model: \t\t {model}\nIRQ:   \t\t 42\n")
        # CUDA_VISIBLE_DEVICES=-1 hides the GPUs from the frameworks, and from machine_name.
        monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow(models if visible else []))
        if not visible:
            monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")

    return install_gpus


def test_machine_name_is_the_cpu_training_records_without_a_gpu(made_up_machine):
    assert machine.machine_name() == training.describe_device() == machine.cpu_device()
    assert machine.machine_name().startswith("CPU: ")


def test_machine_name_is_the_gpu_training_records(made_up_machine):
    made_up_machine("NVIDIA H200", "NVIDIA H100")
    assert machine.machine_name() == training.describe_device() == "GPU: NVIDIA H200"


def test_machine_name_is_the_cpu_when_cuda_visible_devices_hides_the_gpus(made_up_machine):
    made_up_machine("NVIDIA H200", visible=False)
    assert machine.machine_name() == training.describe_device() == machine.cpu_device()


@pytest.mark.parametrize("flags, kernels", [("fpu sse avx2 avx512f avx512_bf16", "oneDNN"),
                                            ("fpu sse avx2 amx_tile", "oneDNN"),
                                            ("fpu sse avx2 avx512f", "Eigen")])
def test_tensorflow_cpu_kernels_follow_the_cpu_flags_tensorflow_checks(
        monkeypatch, tmp_path, flags, kernels):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: {flags}\n")
    monkeypatch.setattr(machine, "CPUINFO", cpuinfo)
    monkeypatch.setattr(machine.platform, "machine", lambda: "x86_64")
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    assert machine.tensorflow_cpu_kernels() == kernels
    assert machine.cpu_name() == "AMD EPYC"
    for setting, forced in (("0", "Eigen"), ("1", "oneDNN"), ("False", "Eigen")):
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", setting)  # TensorFlow's own switch wins
        assert machine.tensorflow_cpu_kernels() == forced


def test_tensorflow_cpu_kernels_are_unknown_off_x86_or_without_cpuinfo(monkeypatch, tmp_path):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fp asimd\n")
    monkeypatch.setattr(machine, "CPUINFO", cpuinfo)
    monkeypatch.setattr(machine.platform, "machine", lambda: "aarch64")
    assert machine.tensorflow_cpu_kernels() is None
    monkeypatch.setattr(machine, "CPUINFO", tmp_path / "missing")
    monkeypatch.setattr(machine.platform, "machine", lambda: "x86_64")
    assert machine.tensorflow_cpu_kernels() is None
