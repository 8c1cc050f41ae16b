# The two set-up commands of the README (make run, make test) install everything they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
INSTALLED := $(VENV)/.installed
PIPELINE := modelworker/node_modules/.package-lock.json

.PHONY: run test local build golden lint lock migrations postgres chromium nginx clean

run: local chromium  ## the whole storefront on this machine, until Ctrl-C
	$(PY) -m devstack

test: local postgres chromium  ## every test: lint, unit, service, end-to-end, browser
	$(PY) -m ruff check .
	$(PY) -m pytest

# What running and testing need: the template, the storefront, the pipeline. The deployment
# artifact (every package for two architectures, about 370 MB) only for a deployment.
local: $(INSTALLED) web/dist/index.html $(PIPELINE) nginx
	$(PY) build.py --template

build: local  ## template, artifact, storefront, pipeline
	$(PY) build.py

$(PIPELINE): modelworker/package-lock.json
	bash scripts/ensure-node.sh
	cd modelworker && npm ci --no-audit --no-fund --loglevel=error

web/node_modules/.package-lock.json: web/package-lock.json
	bash scripts/ensure-node.sh
	cd web && npm ci --no-audit --no-fund --loglevel=error

web/dist/index.html: web/node_modules/.package-lock.json web/index.html web/vite.config.js \
		$(wildcard web/src/* web/scripts/*)
	cd web && npm run build --silent

golden: build  ## accept the rendered stack as the reviewed copy the tests compare with
	cp dist/petshore.json tests/infra/golden/petshore.json

lint: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

$(INSTALLED): requirements-dev.lock scripts/ensure-python.sh
	bash scripts/ensure-python.sh $(VENV)
	$(VENV)/bin/pip install --quiet "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip sync --quiet --python $(PY) requirements-dev.lock
	touch $@

# The database logins function's lock is pinned to the dev lock's versions: its zip ships
# what the tests ran it with. The model worker's lock keeps its environment markers
# (--universal): the artifact bundles it for two architectures, and a package pinned for one
# only (usd-core, x86_64) must say so (templates/dependencies.py reads them).
lock: $(INSTALLED)  ## re-pin the lock files from pyproject.toml
	$(VENV)/bin/uv pip compile --quiet --python $(PY) pyproject.toml -o requirements.lock
	$(VENV)/bin/uv pip compile --quiet --python $(PY) --universal --extra modelworker \
		pyproject.toml -o requirements-modelworker.lock
	$(VENV)/bin/uv pip compile --quiet --python $(PY) --extra modelworker --extra dev \
		--group database-logins pyproject.toml -o requirements-dev.lock
	$(VENV)/bin/uv pip compile --quiet --python $(PY) --group database-logins \
		-c requirements-dev.lock -o requirements-database-logins.lock

migrations: $(INSTALLED)  ## new schema migrations after a change to a service's models.py
	for service in CATALOG ORDERS ACCOUNTS; do \
		$(VENV)/bin/tortoise -c devstack.migrations.$$service makemigrations || exit 1; \
	done

postgres:
	bash scripts/ensure-postgres.sh

chromium:
	bash scripts/ensure-chromium.sh

nginx:  ## the gateway's reverse proxy
	bash scripts/ensure-nginx.sh

clean:
	rm -rf $(VENV) dist var test-results .cache
