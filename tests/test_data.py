"""MNIST sources, verification and the seed's preprocessing."""

import gzip
import os

import numpy as np
import pytest

from mnist_cnn import data
from mnist_cnn.data import DataError, fingerprint, load_mnist, locate_mnist, prepare

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


def test_fetch_into_empty_cache_matches_fingerprints(empty_home):
    found, source = locate_mnist()
    cache = empty_home / "mnist.npz"
    assert str(cache) in source
    assert sorted(os.listdir(empty_home)) == ["mnist.npz"]  # no temporary files left
    for key, (shape, digest) in data.FINGERPRINTS.items():
        assert found[key].shape == shape and found[key].dtype == np.uint8
        assert fingerprint(found[key]) == digest
    # The second call reads the cache, not the network.
    again, source = locate_mnist()
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
    assert fingerprint(x_train) == data.FINGERPRINTS["x_train"][1]
    assert fingerprint(load_mnist()[0][0]) == data.FINGERPRINTS["x_train"][1]


def test_tampered_cache_is_never_used(empty_home, arrays):
    tampered = dict(arrays, x_test=arrays["x_test"].copy())
    tampered["x_test"][0, 14, 14] ^= 1
    data.save_npz(tampered, empty_home / "mnist.npz")
    with pytest.raises(DataError, match="x_test does not match the MNIST fingerprint"):
        load_mnist()


def test_named_npz_file_is_used(tmp_path, monkeypatch, arrays):
    path = tmp_path / "mine.npz"
    np.savez(path, **arrays)  # the layout of Keras' own mnist.npz
    monkeypatch.setenv("MNIST_CNN_DATA", str(path))
    found, source = locate_mnist()
    assert source == str(path)
    assert np.array_equal(found["y_test"], arrays["y_test"])


def write_idx(path, array):
    """Write `array` as an unsigned-byte IDX file (gzipped when the name ends in .gz)."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def test_named_idx_folder_is_used(tmp_path, monkeypatch, arrays):
    for key, stem in data.IDX_FILES.items():
        write_idx(tmp_path / (stem + (".gz" if key.startswith("x") else "")), arrays[key])
    monkeypatch.setenv("MNIST_CNN_DATA", str(tmp_path))
    found, _ = locate_mnist()
    assert all(np.array_equal(found[key], arrays[key]) for key in data.KEYS)


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
