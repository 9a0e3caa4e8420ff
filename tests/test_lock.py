"""requirements.lock: made from the current pyproject.toml, installed as is, mirrored by conda."""

import functools
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from helpers import import_script

# The lock serves Python 3.11 and later, which read TOML without a package.
tomllib = pytest.importorskip("tomllib", reason="requirements.lock is for Python 3.11+")

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT_YML = ROOT / "environment.yml"
# What builds the environment rather than runs in it: venv brings pip (and setuptools before
# Python 3.12), `make lock` adds uv. Checked only where the lock lists them, as it does setuptools
# and wheel, which TensorFlow and astunparse require.
INSTALLERS = {"pip", "setuptools", "wheel", "uv"}


LOCK_SCRIPT = import_script(ROOT / "scripts" / "lock.py")


@functools.cache
def read_lock(path=LOCK_SCRIPT.LOCK):
    """Return {name: [(Requirement, hashes)]} for every requirement line of a lock file."""
    locked = {}
    entry = None
    for line in Path(path).read_text().splitlines():
        text = line.split(" #", 1)[0].rstrip(" \\")
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        if text.startswith(" "):
            assert entry and text.strip().startswith("--hash="), f"stray option in the lock: {line}"
            entry[1].append(text.strip())
            continue
        entry = (Requirement(text), [])
        locked.setdefault(canonicalize_name(entry[0].name), []).append(entry)
    return locked



def locked_version(name, environment=None):
    """Return the version the lock gives `name` in `environment` (this one by default), or None."""
    for requirement, _ in read_lock().get(canonicalize_name(name), []):
        if requirement.marker is None or requirement.marker.evaluate(environment):
            return Version(next(iter(requirement.specifier)).version)
    return None


def test_lock_is_made_from_the_current_pyproject():
    assert LOCK_SCRIPT.recorded_digest() == LOCK_SCRIPT.dependencies_digest(), (
        "pyproject.toml's dependencies changed since requirements.lock was made: run `make lock`")


def test_every_locked_distribution_is_pinned_exactly_and_hashed():
    locked = read_lock()
    assert len(locked) > 50, "requirements.lock lists suspiciously few packages"
    for name, entries in locked.items():
        for requirement, hashes in entries:
            pins = list(requirement.specifier)
            assert len(pins) == 1 and pins[0].operator == "==", f"{requirement} is not pinned"
            assert hashes and all(h.startswith("--hash=sha256:") for h in hashes), (
                f"{name} has no sha256 hash in requirements.lock")


@pytest.mark.parametrize("section, requirement", [
    (section, requirement) for section, requirements in LOCK_SCRIPT.locked_requirements().items()
    for requirement in requirements])
def test_every_direct_requirement_is_locked_at_a_version_it_allows(section, requirement):
    wanted = Requirement(requirement)
    entries = read_lock().get(canonicalize_name(wanted.name))
    assert entries, f"{wanted.name} ({section}) is missing from requirements.lock: run `make lock`"
    for locked, _ in entries:
        version = next(iter(locked.specifier)).version
        assert wanted.specifier.contains(version, prereleases=True), (
            f"requirements.lock has {wanted.name}=={version}, pyproject.toml ({section}) asks "
            f"for {wanted.specifier}: run `make lock`")


def test_lock_keeps_tensorflow_cpu_on_linux_x86_64_and_tensorflow_elsewhere():
    linux = {**default_environment(), "sys_platform": "linux", "platform_machine": "x86_64"}
    mac = {**default_environment(), "sys_platform": "darwin", "platform_machine": "arm64"}
    for environment, wanted, unwanted in [(linux, "tensorflow-cpu", "tensorflow"),
                                          (mac, "tensorflow", "tensorflow-cpu")]:
        assert locked_version(wanted, environment) and not locked_version(unwanted, environment), (
            f"requirements.lock should install {wanted}, not {unwanted}, on "
            f"{environment['sys_platform']} {environment['platform_machine']}")


def bench_only_distributions(locked_names):
    """Return the installed distributions that only the bench extra brings (torch and its own)."""
    bench = tomllib.loads(LOCK_SCRIPT.PYPROJECT.read_text())["project"][
        "optional-dependencies"].get("bench", [])
    found, waiting = set(), [Requirement(r) for r in bench]
    while waiting:
        requirement = waiting.pop()
        name = canonicalize_name(requirement.name)
        if name in found or name in locked_names:
            continue
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        found.add(name)
        waiting += [Requirement(r) for r in requires]
    return found


def test_installed_distributions_are_the_locked_versions():
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip(f"runs only in the project's .venv (made by `make install`), not {sys.prefix}")
    # The project itself is installed from the working tree; `make bench` adds torch and its
    # own dependencies beside the lock, on purpose (several gigabytes, the benchmark alone).
    locked_names = set(read_lock())
    ignored = ({"mnist-cnn"} | (INSTALLERS - locked_names)
               | bench_only_distributions(locked_names))
    wrong = []
    for distribution in importlib.metadata.distributions():
        name = canonicalize_name(distribution.metadata["Name"])
        if name in ignored:
            continue
        locked = locked_version(name)
        if locked != Version(distribution.version):
            wrong.append(f"{name} {distribution.version} installed, "
                         f"{'locked at ' + str(locked) if locked else 'not in the lock'}")
    assert not wrong, ("the environment is not requirements.lock (make clean install): "
                       + "; ".join(sorted(wrong)))


def environment_yml_pins(path=ENVIRONMENT_YML):
    """Return {name: pin} for every package environment.yml lists, pin None where it has none."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        listed = re.match(r"\s*-\s+([A-Za-z0-9_.\-]+)\s*(?:={1,2}\s*([^\s#]+))?\s*(?:#.*)?$",
                          line)
        if listed and listed.group(1) not in ("python", "pip", "conda-forge"):
            pins[canonicalize_name(listed.group(1))] = listed.group(2)
    return pins


def test_environment_yml_pins_the_locked_versions():
    pins = environment_yml_pins()
    assert {"tensorflow-cpu", "keras", "numpy", "ray"} <= set(pins)
    linux = {**default_environment(), "sys_platform": "linux", "platform_machine": "x86_64"}
    for name, pin in pins.items():
        locked = locked_version(name, linux)
        assert pin and locked and Version(pin) == locked, (
            f"environment.yml has {name} {pin or 'unpinned'}, requirements.lock "
            f"{locked or 'nothing'}")
