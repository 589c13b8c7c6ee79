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

.PHONY: setup system browser lab run test unit test-numeric notebooks clean

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

# Unit tests, then every notebook under nbval (outputs compared with the committed QUICK run).
test: setup browser
	$(QUICK_ENV) $(BIN)/python -m pytest -q tests
	$(QUICK_ENV) $(BIN)/python -m pytest -q --nbval --nbval-current-env \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg $(NOTEBOOKS)

unit: setup
	$(QUICK_ENV) $(BIN)/python -m pytest -q tests

# The notebooks under nbval on three numeric paths of this CPU (native kernels, portable kernels,
# one thread): a compared output must not depend on the machine (README, "Testing").
test-numeric: setup
	$(BIN)/python tests/numeric_paths.py

# For developers: re-execute the notebooks in place in QUICK mode so their committed outputs are real.
notebooks: setup
	$(QUICK_ENV) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 $(NOTEBOOKS)

clean:
	rm -rf build .pytest_cache
