# ricsdk: the two set-up commands are `make demo` and `make test` (README.md). Both work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
# Debian packages the test suite uses as independent peers and services.
SYSTEM_PACKAGES := tshark postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test bench lint typecheck venv system-deps lock clean asan-fuzz

$(VENV)/.installed: pyproject.toml constraints.txt setup.py ricsdk/features/_kernel.c ricsdk/e2/_records.c ricsdk/e2/_e2ap.c ricsdk/runtime/_guard.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	# Build-time only: the protobuf code generator (its generated code loads on protobuf 3.20..7).
	$(BIN)/pip install -q --no-deps grpcio-tools==1.64.3
	touch $@

venv: $(VENV)/.installed

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | $(SUDO) debconf-set-selections; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	fi

lint: venv
	$(BIN)/ruff check ricsdk tests benchmarks xapps rapps tools
	$(BIN)/ruff format --check ricsdk xapps rapps

typecheck: venv
	$(BIN)/mypy ricsdk xapps rapps

test: venv system-deps lint typecheck
	RICSDK_REQUIRE_KERNEL=1 $(BIN)/pytest -q -p no:cacheprovider
	$(PY) -m benchmarks --quick > /dev/null

# Memory-safety fuzzing of the C extensions (AddressSanitizer + UBSan builds in a temporary copy; about 1 min).
asan-fuzz: venv
	$(PY) tools/asan_fuzz.py --iterations 100000

bench: venv
	$(PY) -m benchmarks

demo: venv
	$(PY) -m xapps.slice_prb_allocator.demo --periods 100 --period-ms 100 --out demo-output

# Refresh the lock of what the suite was tested with.
lock: venv
	$(BIN)/pip freeze --exclude-editable --exclude grpcio-tools | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
