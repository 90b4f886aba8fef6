# Two commands for users: `make run` and `make test`. Both set up .venv first.
# Production: `make serve-prod` (gunicorn; docs/deployment.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MODEL ?= models/default
VISION_MODEL ?= models/vision
HOST ?= 127.0.0.1
PORT ?= 5000
export HOST PORT

.PHONY: setup run serve-prod train train-vision test screenshots lint bench clean

setup: $(STAMP)

# Re-installs only when requirements.txt, constraints.txt or pyproject.toml changed.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is needed (3.11 recommended)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

$(MODEL)/pipeline.yaml: | $(STAMP)
	$(PY) -m chatbot train --data data/corpus --out $(MODEL)

# The /image model: handwritten digits from scikit-learn's bundled dataset, about 30 s on 2 CPU cores.
$(VISION_MODEL)/vision.json: | $(STAMP)
	$(PY) -m chatbot train-vision --data digits --out $(VISION_MODEL)

train: setup
	$(PY) -m chatbot train --data data/corpus --out $(MODEL)

train-vision: setup
	$(PY) -m chatbot train-vision --data digits --out $(VISION_MODEL)

run: setup $(MODEL)/pipeline.yaml $(VISION_MODEL)/vision.json
	$(PY) -m chatbot serve --model $(MODEL) --vision-model $(VISION_MODEL) --host $(HOST) --port $(PORT)

# gunicorn with webui/gunicorn_conf.py: WEB_CONCURRENCY workers (default: one per core), each loading the
# models once; DATABASE_URL picks the database (docs/deployment.md). exec: signals reach gunicorn directly.
serve-prod: setup $(MODEL)/pipeline.yaml $(VISION_MODEL)/vision.json
	exec env CHATBOT_MODEL_DIR=$(MODEL) CHATBOT_VISION_MODEL_DIR=$(VISION_MODEL) $(VENV)/bin/gunicorn -c webui/gunicorn_conf.py

test: setup
	$(PY) -m pytest -q

# The browser tests again, saving the screenshots that the README shows into docs/screenshots/.
screenshots: setup
	E2E_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q tests/e2e

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) models instance .pytest_cache
