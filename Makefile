# Two commands do all set-up on a fresh machine (virtual environment, packages, MNIST):
#   make reproduce   the study: train every missing protocol run, then run the notebooks
#   make test        unit tests and nbval over the notebooks (what CI runs)
#   make test-fast   the tests that neither train, run notebooks nor need a cluster (a minute)
#   make lock        re-lock requirements.lock after a change to pyproject.toml's dependencies
# Options: RETRAIN=1 retrains runs that are already recorded; SEEDS="0 1 2 3 4 5" for other
# seeds than the study's (mnist-cnn reproduce --seeds defaults to them); DATASET=fashion-mnist
# runs the same study on Fashion-MNIST.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SEEDS  ?=
DATASET ?= mnist
# Debian's package of Fashion-MNIST (the four official IDX files), installed where this machine
# can (root with apt-get); elsewhere `mnist-cnn data --dataset fashion-mnist` says how to get it.
FASHION_MNIST_DEB := dataset-fashion-mnist
FASHION_MNIST_DIR := /usr/share/datasets/fashion-mnist

UV_VERSION := 0.13.9

.PHONY: install lock data fashion-data test test-fast reproduce notebooks table plot bench clean

# Exactly the packages of requirements.lock, checked against their hashes, compiled to bytecode
# on every core (pip compiles on one; docs/testing.md has the timings); then the project
# itself, built without network access by the locked setuptools (-qq: it warns about the data
# folder mnist_cnn/reference and about editable installs on every build).
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile --require-hashes -r requirements.lock
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib
	$(BIN)/python -m pip install -qq --no-deps --no-build-isolation -e .
	touch $@

install: $(STAMP)

# Lock pyproject.toml's dependencies (extras test, notebooks, cluster) into requirements.lock,
# keeping the locked versions pyproject.toml still allows; UPGRADE=1 takes the newest instead.
# The uv command it runs is written at the top of requirements.lock.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/python scripts/lock.py $(if $(UPGRADE),--upgrade)

data: install
	$(BIN)/mnist-cnn data

fashion-data: install
	@test -d $(FASHION_MNIST_DIR) || ! command -v apt-get >/dev/null || [ "$$(id -u)" != 0 ] \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		     apt-get install -y -qq $(FASHION_MNIST_DEB) >/dev/null; }
	$(BIN)/mnist-cnn data --dataset fashion-mnist

# pytest-xdist runs TEST_WORKERS test files at once; --dist loadfile keeps each file (and each
# notebook's cells, which share one kernel) in one worker, so module fixtures are built once.
TEST_WORKERS ?= 2
test: data fashion-data
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

# The quick suite (under a minute): no real training, no notebook runs, no cluster. nbval stays
# unloaded, so addopts, which holds its options, is replaced.
test-fast: data fashion-data
	$(BIN)/python -m pytest -p no:nbval -o addopts=-ra \
		-m "not training and not notebooks and not cluster"

reproduce: data $(if $(filter fashion-mnist,$(DATASET)),fashion-data)
	$(BIN)/mnist-cnn reproduce --dataset $(DATASET) $(if $(SEEDS),--seeds $(SEEDS)) \
		$(if $(RETRAIN),--retrain)
	$(MAKE) notebooks
	$(BIN)/mnist-cnn table --update-readme

notebooks: install
	$(BIN)/python -m mnist_cnn.notebook notebooks/*.ipynb

table: install
	$(BIN)/mnist-cnn table

plot: install
	$(BIN)/mnist-cnn plot

# The CPU speed benchmark behind benchmarks/RESULTS.md and docs/speed.md's ratios. It needs a quiet
# machine (about half an hour on 2 cores). PyTorch comes from the default index, CUDA build and
# all: the benchmark runs it in a process of its own, apart from TensorFlow.
bench: data
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/mnist-cnn bench --precision fp32 bf16 --json benchmarks/bench.json \
		--report benchmarks/RESULTS.md --update-docs

clean:
	rm -rf $(VENV) .pytest_cache
