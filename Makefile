# Two commands for users: `make run` and `make test`. Both set up .venv first.
# Production: `make serve-prod` (gunicorn; docs/deployment.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
MODEL ?= models/default
VISION_MODEL ?= models/vision
HOST ?= 127.0.0.1
PORT ?= 5000
export HOST PORT

.PHONY: setup setup-dev run serve-prod train train-vision test screenshots lint bench clean

# Two stamps: `setup` installs what the app runs on, `setup-dev` adds the test and lint tools on top,
# so `make run` never installs pytest and `make run` then `make test` still adds them.
setup: $(STAMP)
setup-dev: $(DEV_STAMP)

# Re-installs only when requirements.txt, constraints.txt or pyproject.toml changed. 3.11 is the floor of
# pyproject.toml's requires-python (numpy, scipy, pandas and scikit-learn as pinned have no 3.10 wheels).
$(STAMP): requirements.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (3.11 recommended): set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# The tests use the mecab tokenizer, whose wheels stop at Python 3.12 (requirements.txt).
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info < (3, 13) else "make test needs Python 3.11 or 3.12 (the tests use mecab-ko, which has no wheel for 3.13+): make clean, then PYTHON=python3.11 make test")'
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
	@touch $(DEV_STAMP)

$(MODEL)/pipeline.yaml: | $(STAMP)
	$(PY) -m chatbot train --data data/corpus --out $(MODEL) --dialogues tests/dialogues

# The /image model: handwritten digits from scikit-learn's bundled dataset, about 30 s on 2 CPU cores.
$(VISION_MODEL)/vision.json: | $(STAMP)
	$(PY) -m chatbot train-vision --data digits --out $(VISION_MODEL)

train: setup
	$(PY) -m chatbot train --data data/corpus --out $(MODEL) --dialogues tests/dialogues

train-vision: setup
	$(PY) -m chatbot train-vision --data digits --out $(VISION_MODEL)

# Log lines for a person at a terminal (the servers' default is JSON, for a log pipeline).
run: setup $(MODEL)/pipeline.yaml $(VISION_MODEL)/vision.json
	CHATBOT_LOG_FORMAT=$${CHATBOT_LOG_FORMAT:-text} $(PY) -m chatbot serve --model $(MODEL) --vision-model $(VISION_MODEL) --host $(HOST) --port $(PORT)

# gunicorn with webui/gunicorn_conf.py: WEB_CONCURRENCY workers (default: one per core), each loading the
# models once; DATABASE_URL picks the database (docs/deployment.md). exec: signals reach gunicorn directly.
serve-prod: setup $(MODEL)/pipeline.yaml $(VISION_MODEL)/vision.json
	exec env CHATBOT_MODEL_DIR=$(MODEL) CHATBOT_VISION_MODEL_DIR=$(VISION_MODEL) $(VENV)/bin/gunicorn -c webui/gunicorn_conf.py

test: setup-dev
	$(PY) -m pytest -q

# The browser tests again, saving the screenshots that the README shows into docs/screenshots/.
screenshots: setup-dev
	E2E_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q tests/e2e

# ruff over the repository, and mypy over the library (its settings: [tool.mypy] in pyproject.toml).
lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy chatbot/

clean:
	rm -rf $(VENV) models instance .pytest_cache
