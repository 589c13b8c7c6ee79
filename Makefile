# voicelab: `make lab` opens the course, `make test` runs every test. Both set up what is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.voicelab-installed
CONSTRAINTS := .ci/constraints.txt
APT_PACKAGES := ffmpeg espeak-ng flite libsndfile1
RESEMBLYZER := resemblyzer>=0.1.4
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
QUICK_ENV := VOICELAB_QUICK=1 PYTHONHASHSEED=0
THREADS := OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=$${MKL_NUM_THREADS:-1}

.PHONY: setup system browser disk lab run test rehearse test-jobs test-unit test-guard test-voice test-rest unit test-numeric colab notebooks clean

setup: system $(STAMP)

# Debian packages: installed when we are root with apt-get, otherwise we say what to install.
system:
	@missing=""; \
	for cmd in ffmpeg espeak-ng flite; do command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$cmd"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "Missing programs:$$missing. Install them first, e.g. 'sudo apt-get install $(APT_PACKAGES)'," \
	         "or 'conda env create -f environment.yml' (ffmpeg) + your system's espeak-ng and flite."; \
	    exit 1; \
	  fi; \
	fi

# Debian's Chromium for the app's browser test (tests/test_app_browser.py). Installed when we are
# root with apt-get (as in CI); otherwise that one test is skipped and says why.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian package: chromium (for the browser test)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is not installed: the app's browser test will be skipped ('sudo apt-get install chromium')."; \
	  fi; \
	fi

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "voicelab needs Python >= 3.10")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[test,lab]"
	# resemblyzer declares webrtcvad, which does not build; webrtcvad-wheels (above) provides it.
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) --no-deps "$(RESEMBLYZER)"
	touch $@

# Jupyter refuses to start as root unless told; containers and Colab-like boxes often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/

# Execute every notebook in QUICK mode; executed copies go to build/notebooks/.
run: setup
	mkdir -p build/notebooks
	$(QUICK_ENV) $(BIN)/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
	    --output-dir build/notebooks $(NOTEBOOKS)

# `make test`: the unit tests, every notebook under nbval (outputs compared with the committed QUICK
# run) and notebooks 08-11 on Colab's Python (colab, below), as parallel jobs so both cores work
# (each job one thread unless OMP_NUM_THREADS says otherwise). Jobs share only files written
# atomically and identically by whoever comes first (offline speech, Hub stand-ins); notebooks that
# share a folder are in one job (07's class 2 loads the model class 1 saves and fine-tunes on 08's
# clips; 09, 10 and 11 share 09's run), in this order. --keep-going: every job reports;
# --output-sync: each job's output is printed, whole, when it ends.
NOTEBOOKS_VOICE := $(sort $(wildcard $(foreach n,07 08 09 10 11,notebooks/$(n)_*.ipynb)))
NOTEBOOKS_REST  := $(filter-out $(NOTEBOOKS_VOICE),$(NOTEBOOKS))
NBVAL := $(QUICK_ENV) $(THREADS) $(BIN)/python -m pytest -q -p no:cacheprovider --nbval \
         --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# Room on disk before anything is installed: .venv takes 6.4 GB (torch's CUDA build), .venv-colab
# 7.3 GB, the voicelab and pip caches about 1.5 GB, pip's unpacking a few more (measured on a fresh
# clone, README "Testing"). A full disk otherwise fails in the middle of a pip install.
DISK_GB_VENV  := 9
DISK_GB_COLAB := 9
disk:
	@need=0; [ -x $(BIN)/python ] || need=$$((need + $(DISK_GB_VENV))); \
	[ -n "$(PYTHON_COLAB)" ] && [ ! -x $(COLAB_BIN)/python ] && need=$$((need + $(DISK_GB_COLAB))); \
	free=$$(df -Pk . | awk 'NR == 2 {print int($$4 / 1048576)}'); \
	if [ "$$free" -lt "$$need" ]; then \
	  echo "make test needs about $$need GB free in $(CURDIR) for its Python environments; $$free GB" \
	       "are free. Free some space (or remove old .venv folders) and run it again."; exit 1; \
	fi

test: system browser disk
	@$(MAKE) --no-print-directory -j3 --keep-going --output-sync=target test-jobs

# In the order they start: the Colab venv builds while .venv does, then the longest jobs first.
test-jobs: colab test-unit test-guard test-voice test-rest

test-unit: setup
	$(QUICK_ENV) $(THREADS) $(BIN)/python -m pytest -q -p no:cacheprovider -m "not network and not fullsize" tests

# The Colab drift guard (tests marked network): mostly waiting for PyPI.
test-guard: setup
	$(QUICK_ENV) $(THREADS) $(BIN)/python -m pytest -q -p no:cacheprovider -m network tests

test-voice: setup
	$(NBVAL) $(NOTEBOOKS_VOICE)

test-rest: setup
	$(NBVAL) $(NOTEBOOKS_REST)

unit: setup
	$(QUICK_ENV) $(BIN)/python -m pytest -q tests

# The notebooks under nbval on three numeric paths of this CPU (native kernels, portable kernels,
# one thread): a compared output must not depend on the machine (README, "Testing").
test-numeric: setup
	$(BIN)/python tests/numeric_paths.py

# Colab's Python: a Python 3.13 venv that starts from what a fresh Colab runtime has preinstalled,
# installs voicelab as the notebooks' setup cell does (plain pip, the newest versions allowed, no
# constraints file), then runs top to bottom, with a voicelab cache of its own, the notebooks that
# separate (08), train (09) and convert (10 so-vits-svc, 11 RVC). --nbval-lax fails on any error or
# failing assert but compares no outputs (versions differ). tests/test_colab_guard.py is the other
# half: it resolves the same install without running it.
# Python 3.13: PYTHON_COLAB if given, else pyenv's 3.13, else python3.13 on PATH.
COLAB_VENV  := .venv-colab
COLAB_BIN   := $(COLAB_VENV)/bin
# Colab's preinstalled set; tests/test_colab_guard.py checks that its COLAB_PINS say the same.
COLAB_PINS  := "torch==2.11.0" "torchaudio==2.11.0" "torchcodec==0.11.*" "numpy==2.1.*"
COLAB_NOTEBOOKS := $(wildcard $(foreach n,08 09 10 11,notebooks/$(n)_*.ipynb))
# Every source and data file of the package, in all its subpackages (make's wildcard is not recursive).
VOICELAB_FILES  := $(shell find voicelab -type f \( -name '*.py' -o -name '*.txt' -o -name '*.json' \) -not -path '*/__pycache__/*')
ifndef PYTHON_COLAB
PYTHON_COLAB := $(shell PYENV_VERSION=3.13 pyenv which python3.13 2>/dev/null || \
                  { python3.13 -c '' 2>/dev/null && command -v python3.13; })
endif
COLAB_HOWTO := install it (pyenv install 3.13) or set PYTHON_COLAB=/path/to/python3.13
IN_CI := $(filter-out 0 false no off,$(CI))

ifeq ($(strip $(PYTHON_COLAB)),)
colab:
ifeq ($(IN_CI),)
	@echo "Colab check skipped: no python3.13 on this machine; $(COLAB_HOWTO)."
else
	@echo "Colab check failed: no python3.13 on this machine, and CI must run it; $(COLAB_HOWTO)." >&2
	@exit 1
endif
else
colab: $(COLAB_VENV)/.voicelab-installed
	$(QUICK_ENV) $(THREADS) VOICELAB_CACHE=$(CURDIR)/$(COLAB_VENV)/voicelab-cache $(COLAB_BIN)/python -m pytest -q \
	    -p no:cacheprovider --nbval-lax --nbval-current-env $(COLAB_NOTEBOOKS)
endif

# A new pyproject.toml means a new Colab runtime: the venv is made again from nothing. Colab's
# own packages come from PyPI through uv: from its cache, torch's 4.6 GB of CUDA libraries take
# seconds (pip: minutes). Everything after them is plain pip, as on Colab.
$(COLAB_VENV)/.colab-preinstalled: pyproject.toml
	@"$(PYTHON_COLAB)" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null || \
	  { echo "$(PYTHON_COLAB) is not a working Python 3.13; $(COLAB_HOWTO)." >&2; exit 1; }
	rm -rf $(COLAB_VENV)
	"$(PYTHON_COLAB)" -m venv $(COLAB_VENV)
	$(COLAB_BIN)/python -m pip install -q --target $(COLAB_VENV)/uv uv
	$(COLAB_VENV)/uv/bin/uv pip install -q --python $(COLAB_BIN)/python --upgrade-package pip \
	    pip $(COLAB_PINS) ipykernel
	touch $@

# The setup cell's two installs, then the test tools. The setup cell's pip clones the git URL into
# a temporary folder and builds there; here a copy of what the build reads stands in for the clone
# (so this build cannot meet .venv's editable build in the checkout when both run at once).
COLAB_SRC := $(CURDIR)/$(COLAB_VENV)/src
$(COLAB_VENV)/.voicelab-installed: $(COLAB_VENV)/.colab-preinstalled $(VOICELAB_FILES) README.md
	rm -rf $(COLAB_SRC) && mkdir -p $(COLAB_SRC)
	tar -c --exclude=__pycache__ pyproject.toml README.md voicelab | tar -x -C $(COLAB_SRC)
	$(COLAB_BIN)/python -m pip install -q "voicelab @ file://$(COLAB_SRC)"
	$(COLAB_BIN)/python -m pip install -q --no-deps resemblyzer
	$(COLAB_BIN)/python -m pip install -q "voicelab[test] @ file://$(COLAB_SRC)"
	$(COLAB_BIN)/python .ci/colab_versions.py $(COLAB_PINS)
	touch $@

# The FULL rehearsal: the lessons (01-07, 12-14) with their step counts capped, then notebooks
# 08 -> 09 -> 10 -> 11, through their FULL code paths, offline, on the CPU, with stand-ins of the real
# models' names, formats and sizes in the caches, a "Drive" and a "VM disk" under build/rehearsal/;
# it wipes the VM disk and damages a checkpoint on the way (tests/rehearse.py says what it checks;
# `tests/rehearse.py --part lessons|voice` runs one half). Torch uses every core here (full-size models).
rehearse: setup
	PYTHONUNBUFFERED=1 $(BIN)/python tests/rehearse.py

# For developers: re-execute the notebooks in place in QUICK mode so their committed outputs are real.
notebooks: setup
	$(QUICK_ENV) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 $(NOTEBOOKS)

clean:
	rm -rf build .pytest_cache
