"""The package as a user installs it: a wheel in a fresh environment, used from an empty folder."""

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(command, cwd, env=None):
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Build a wheel from the repo and install it alone into a fresh virtual environment.

    The environment reaches this test environment's packages (TensorFlow, Keras, ...) through
    a .pth file, and the wheel is built by this environment's setuptools (as `make install`
    builds the project), so nothing is downloaded; the package itself comes only from the wheel.
    """
    tmp = tmp_path_factory.mktemp("install")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                 "--quiet", "-w", tmp / "dist", ROOT], cwd=tmp)
    assert built.returncode == 0, built.stderr
    wheel, = (tmp / "dist").glob("mnist_cnn-*.whl")
    env_dir = tmp / "env"
    venv.create(env_dir)  # without pip of its own: this environment's pip installs into it
    python = env_dir / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               cwd=tmp).stdout.strip()
    Path(site, "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                "--quiet", wheel], cwd=tmp)
    assert done.returncode == 0, done.stderr
    return env_dir / "bin" / "mnist-cnn", python


def test_installed_package_comes_from_the_wheel(installed, tmp_path):
    _, python = installed
    where = run([python, "-c", "import mnist_cnn; print(mnist_cnn.__file__)"], cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert not Path(where.stdout.strip()).is_relative_to(ROOT)


@pytest.mark.training
def test_installed_command_works_from_an_empty_folder(installed, tmp_path):
    command, _ = installed
    env = {**os.environ, "HOME": os.environ.get("HOME", "")}
    listing = run([command, "list"], cwd=tmp_path, env=env)
    assert listing.returncode == 0, listing.stderr
    assert "model_7" in listing.stdout
    summary = run([command, "summary", "model_1"], cwd=tmp_path, env=env)
    assert summary.returncode == 0 and "Total params:" in summary.stdout, summary.stderr
    trained = run([command, "train", "model_1", "--epochs", "1", "--subset", "256",
                   "--batch-size", "64", "--validation", "none"], cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr
    assert len(list(tmp_path.glob("results/model_1/*/seed_0/metrics.json"))) == 1
    # The table compares with the original's results, which ship inside the package.
    table = run([command, "table", "--markdown"], cwd=tmp_path, env=env)
    assert table.returncode == 0, table.stderr
    # model_1's row: the original's 9,920 images right, from its logs.
    assert table.stdout.count("\n| model_") == 7 and "99.20%" in table.stdout
