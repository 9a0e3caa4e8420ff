"""Lock every package the project installs to exact, hashed versions: requirements.lock.

The lock covers the base dependencies and the extras in LOCKED_EXTRAS (not `bench`: PyTorch is
several gigabytes and only the benchmark uses it) for CPython 3.11 and later on every platform
(`--universal`), so pyproject.toml's TensorFlow markers (tensorflow-cpu on Linux x86-64,
tensorflow elsewhere) survive in it. uv keeps the versions the lock already holds unless
pyproject.toml asks for others, or `--upgrade` is passed on (`make lock UPGRADE=1`).

The header records a digest of the dependencies it was made from; tests/test_lock.py recomputes
it, so a dependency edited without `make lock` fails the tests.

Usage (from the repository root): make lock   (or: python scripts/lock.py [--upgrade])
"""

import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
LOCKED_EXTRAS = ("test", "notebooks", "cluster")
PYTHON_VERSION = "3.11"  # the lowest Python the lock serves: the recorded runs' and CI's
COMPILE = ["uv", "pip", "compile", "pyproject.toml",
           *[option for extra in LOCKED_EXTRAS for option in ("--extra", extra)],
           "--universal", "--generate-hashes", "--python-version", PYTHON_VERSION,
           "--no-header", "--quiet", "-o", LOCK.name]
DIGEST_PREFIX = "# pyproject-dependencies-sha256: "


def locked_requirements(pyproject=PYPROJECT):
    """Return pyproject's base requirements and those of the locked extras, by section."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return {"dependencies": project.get("dependencies", []),
            **{f"extra {name}": extras.get(name, []) for name in LOCKED_EXTRAS}}


def dependencies_digest(pyproject=PYPROJECT):
    """Return the sha256 of the requirements the lock is made from, blind to their order."""
    sections = {name: sorted(requirements)
                for name, requirements in locked_requirements(pyproject).items()}
    return hashlib.sha256(json.dumps(sections, sort_keys=True).encode()).hexdigest()


def recorded_digest(lock=LOCK):
    """Return the dependencies digest in the lock's header, or None when it has none."""
    for line in Path(lock).read_text().splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line[len(DIGEST_PREFIX):].strip()
    return None


def header():
    """Return the lock's header: what it holds, the command that made it, and the digest."""
    return "\n".join([
        f"# Every package of `pip install '.[{','.join(LOCKED_EXTRAS)}]'`, exact and hashed, for",
        f"# CPython {PYTHON_VERSION}+ on any platform. `make install` installs exactly these.",
        "# Made by `make lock` (scripts/lock.py), which runs from the repository root:",
        f"#    {' '.join(COMPILE)}",
        "# and records the digest of the pyproject.toml requirements it locked:",
        f"{DIGEST_PREFIX}{dependencies_digest()}",
        "",
    ])


def main(arguments):
    """Compile the lock with uv, then put the header above uv's output."""
    done = subprocess.run([sys.executable, "-m", *COMPILE, *arguments], cwd=ROOT)
    if done.returncode != 0:
        print("lock: uv pip compile failed; requirements.lock may be incomplete", file=sys.stderr)
        return done.returncode
    body = LOCK.read_text()
    LOCK.write_text(header() + body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
