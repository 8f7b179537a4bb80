# The two commands: `make run` and `make test`. Everything else is a step they share.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV   := .venv
BIN    := $(VENV)/bin
MODEL  := models/ecrin.tar.gz
SPACY  := models/spacy/en_ecrin/meta.json
STAMP  := $(VENV)/.installed

# Nothing leaves this machine at run or test time.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export HF_HUB_OFFLINE := 1

TRAINING_DATA := config.yml domain.yml $(wildcard data/*.yml data/nlu/*.yml data/nlu/*/*.yml)

.PHONY: help run test test-fast setup browser db train retrain eval score validate lint shell clean run-scaled nginx bench lock fuzz screenshots

help:
	@echo "make run    set up and start the assistant (web chat, REST, action server)"
	@echo "make test   set up and run every test"
	@echo "make test-fast  the tests that need no trained model, browser or service (< 1 min, 2 cores)"
	@echo "make train  train the model if training data or config changed"
	@echo "make retrain  fine-tune the model after adding examples (Rasa incremental training)"
	@echo "make eval   accuracy on the held-out split, against a TF-IDF baseline"
	@echo "make score  score the running assistant on ../shared/eval/dev.tsv"
	@echo "make shell  talk to the assistant in the terminal"
	@echo "make lint   ruff"
	@echo "make bench  benchmark against a stock rasa init bot (~6-10 min; bench/results/)"
	@echo "make run-scaled  2 Rasa + 2 action servers behind nginx, on PostgreSQL and Redis"
	@echo "make fuzz   tests/security with 10,000 generated cases per endpoint/property (long)"
	@echo "make screenshots  docs/screenshots/*.png: the web chat empty, in a conversation, on a phone"

run: setup $(MODEL)
	$(BIN)/bot run

test: setup $(MODEL) browser nginx
	$(BIN)/ruff check bot actions tests bench
	$(BIN)/pytest

# The tiers are markers tests/conftest.py gives each test from the fixtures it uses (and
# `slow`, seconds per test: processes, sleeps, Rasa in a subprocess, the access matrix); the
# security tests generate fewer cases than `make test` does (FUZZ_EXAMPLES, MASKING_EXAMPLES;
# `make fuzz`). pytest-xdist runs them on both cores.
FAST_TESTS := not e2e and not browser and not postgres and not redis and not model and not slow
test-fast: $(STAMP)
	FUZZ_EXAMPLES=20 MASKING_EXAMPLES=10 $(BIN)/pytest -q -p no:cacheprovider -n 2 \
	  -m "$(FAST_TESTS)"

# The browser tests drive Debian's Chromium (Playwright's own browser download is not
# reachable here); installed once, when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests (log: $(VENV)/apt.log)…"; \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } > $(VENV)/apt.log 2>&1 \
	    || { tail -20 $(VENV)/apt.log; echo "Could not install chromium (needs root and Debian's package mirror)."; exit 1; }; }

# `make run-scaled` and its test put nginx in front of the replicas (Debian's package; the
# config is rendered into a temporary directory, /etc/nginx is not used); installed once.
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  echo "Installing Debian's nginx for the scaled set-up (log: $(VENV)/apt-nginx.log)…"; \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx; } > $(VENV)/apt-nginx.log 2>&1 \
	    || { tail -20 $(VENV)/apt-nginx.log; echo "Could not install nginx (needs root and Debian's package mirror)."; exit 1; }; }

# Replicas sharing PostgreSQL (TRACKER_STORE_URL, DATABASE_URL) and Redis (LOCK_STORE_URL):
# see docs/scale-out.md.
run-scaled: setup $(MODEL) nginx
	$(BIN)/bot run --scaled

setup: $(STAMP) db $(SPACY)

# The venv, the locked dependencies (hash-checked: runtime and the dev extra, see `lock`) and the
# project itself, without its dependencies: tests/test_dependencies.py checks that the lock
# pins every one of them.
$(STAMP): requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || { py=$$(scripts/find-python310) && echo "Creating $(VENV) with $$py" && "$$py" -m venv $(VENV); }
	@echo "Installing locked dependencies (log: $(VENV)/install.log)…"
	@$(BIN)/python -m pip install --require-hashes --no-deps -r requirements-dev.lock > $(VENV)/install.log 2>&1 \
	  || { tail -30 $(VENV)/install.log; exit 1; }
	@$(BIN)/python -m pip install --no-deps --no-build-isolation -e . >> $(VENV)/install.log 2>&1 \
	  || { tail -30 $(VENV)/install.log; exit 1; }
	@touch $@

# Idempotent: migrations to head, seeds upserted.
db: $(STAMP)
	@$(BIN)/bot db upgrade
	@$(BIN)/bot db seed

$(SPACY): $(STAMP) $(wildcard data/db/*.yml data/i18n/*/countries.yml) bot/nlp.py bot/countries.py
	$(BIN)/bot nlp build

# Retrains only when training data or config changed (make compares file times; Rasa's
# own cache in .rasa/ then skips the components whose inputs did not change).
train: setup $(MODEL)

# RASA = `rasa` with the changes of bot/rasa_ext applied, crash reporter off (bot/rasa_main.py).
RASA := $(BIN)/python -m bot.rasa_main

$(MODEL): $(TRAINING_DATA) $(SPACY) | $(STAMP)
	$(RASA) train --fixed-model-name ecrin --out models

# After adding a few examples (an edited answer needs none: bot/rasa_ext/nlg.py serves answers
# live): Rasa's incremental training continues
# from the current model for half the epochs instead of starting over (labels and config must
# be unchanged; Rasa says so if not; a fifth lost accuracy: docs/models.md). `make train`
# stays the reference.
retrain: setup
	$(RASA) train --finetune $(MODEL) --epoch-fraction 0.5 --fixed-model-name ecrin --out models

eval: setup $(MODEL)
	$(BIN)/bot eval

score: setup $(MODEL)
	$(BIN)/bot score

# Latency, throughput, memory, cold start and training time, side by side with a stock
# `rasa init` bot: see docs/benchmarks.md. Best on a quiet machine.
bench: setup $(MODEL)
	$(BIN)/python bench/compare.py

# The README's pictures of the web chat (docs/screenshots/): the browser test that takes them,
# against the real assistant, writing into the docs instead of a temporary directory. Debian's
# colour emoji font (installed once, when missing) draws the 👍 / 👎 ratings.
screenshots: setup $(MODEL) browser
	@fc-list 2>/dev/null | grep -qi "Noto Color Emoji" || { \
	  echo "Installing Debian's fonts-noto-color-emoji (log: $(VENV)/apt-fonts.log)…"; \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-noto-color-emoji; } \
	    > $(VENV)/apt-fonts.log 2>&1 || echo "No colour emoji font: the ratings show as boxes."; }
	SCREENSHOT_DIR=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider \
	  tests/test_browser_first_impression.py -k test_screenshots_for_the_readme

# The security tests with many more generated cases than `make test` (500 malformed
# requests per public endpoint there): 10,000 per endpoint and per property. See
# docs/security.md.
fuzz: setup
	HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=10000 $(BIN)/pytest -q -p no:cacheprovider tests/security

# Re-pin the lock files from pyproject.toml (hashes included) after editing its dependencies:
# requirements.lock holds [project] dependencies (the Docker image installs it),
# requirements-dev.lock those and the `dev` extra at the same versions (`make` installs it).
# uv keeps every pin it can from the current files; to move some on:
#   make lock LOCK_UPGRADE="--upgrade-package NAME"   (or LOCK_UPGRADE=--upgrade for all)
# Needs uv on PATH: `pip install uv` in any venv outside this project, or
# https://docs.astral.sh/uv/getting-started/installation/.
LOCK_UPGRADE :=
UV_COMPILE = uv pip compile --quiet --python "$$(scripts/find-python310)" --python-version 3.10 \
  --generate-hashes --custom-compile-command "make lock" $(LOCK_UPGRADE) pyproject.toml
lock:
	@command -v uv >/dev/null 2>&1 || { echo "make lock needs uv on PATH: pip install uv (in a venv \
	outside this project), or see https://docs.astral.sh/uv/getting-started/installation/"; exit 1; }
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra dev --constraint requirements.lock -o requirements-dev.lock

validate: setup
	$(RASA) data validate

lint: $(STAMP)
	$(BIN)/ruff check bot actions tests bench
	$(BIN)/ruff format --check bot actions tests bench

shell: setup $(MODEL)
	@$(RASA) run actions --actions actions --port $${ACTIONS_PORT:-5055} > /dev/null 2>&1 & \
	  trap "kill $$! 2>/dev/null" EXIT; $(RASA) shell --model $(MODEL)

clean:
	rm -rf models/*.tar.gz models/spacy .rasa .pytest_cache
