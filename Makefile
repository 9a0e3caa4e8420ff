# Two commands do all set-up on a fresh machine (virtual environment, packages, MNIST):
#   make reproduce   the study: train every missing seed-protocol run, then run the notebooks
#   make test        unit tests and nbval over the notebooks (what CI runs)
# Options: RETRAIN=1 retrains runs that are already recorded; SEEDS="0 1 2 3 4" for more seeds.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SEEDS  ?= 0

.PHONY: install data test reproduce notebooks table plot bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,notebooks]'
	touch $@

install: $(STAMP)

data: install
	$(BIN)/mnist-cnn data

test: data
	$(BIN)/python -m pytest

reproduce: data
	$(BIN)/mnist-cnn reproduce --seeds $(SEEDS) $(if $(RETRAIN),--retrain)
	$(MAKE) notebooks
	$(BIN)/mnist-cnn table --update-readme

notebooks: install
	$(BIN)/python -m mnist_cnn.notebook notebooks/*.ipynb

table: install
	$(BIN)/mnist-cnn table

plot: install
	$(BIN)/mnist-cnn plot

# The CPU speed benchmark behind benchmarks/RESULTS.md and the README's ratios. It needs a quiet
# machine (about half an hour on 2 cores). PyTorch comes from the default index, CUDA build and
# all: the benchmark runs it in a process of its own, apart from TensorFlow.
bench: data
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/mnist-cnn bench --precision fp32 bf16 --json benchmarks/bench.json \
		--report benchmarks/RESULTS.md --update-readme

clean:
	rm -rf $(VENV) .pytest_cache
