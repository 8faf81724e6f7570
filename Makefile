# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv venv-dev lint format migrate seed serve bench faults clients clean dev-celery messages

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

# Our Turkish catalog, compiled in the build (never committed as .mo; docs/NOTIFICATIONS.md).
locale/tr/LC_MESSAGES/django.mo: locale/tr/LC_MESSAGES/django.po
	msgfmt --check-format -o $@ $<

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

venv: $(VENV)/.runtime locale/tr/LC_MESSAGES/django.mo
venv-dev: $(VENV)/.dev locale/tr/LC_MESSAGES/django.mo

## make messages: pick up new texts of our code and templates into locale/tr/LC_MESSAGES/django.po
## (new ones come untranslated: translate them; tests/test_translations.py fails until you do)
messages: venv
	DEBUG=1 $(BIN)/python manage.py makemessages -l tr --no-location --ignore ".venv/*" --ignore "bench/*" \
		--ignore "var/*" --ignore "staticfiles/*" --ignore "*/tests/*" --ignore "tests/*"
	msgfmt --check-format --statistics -o locale/tr/LC_MESSAGES/django.mo locale/tr/LC_MESSAGES/django.po

## make run: set up, migrate, seed the demo studio, print the logins, serve on http://127.0.0.1:8000
run: venv
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 MAIL_DIR=var/mail $(BIN)/python manage.py seed_demo
	@echo ""
	@echo "Serving on http://$(HOST):$(PORT)  admin: http://$(HOST):$(PORT)/admin/  API docs: http://$(HOST):$(PORT)/api/docs/"
	@echo "Emails the product sends (no EMAIL_HOST set): files in var/mail/"
	DEBUG=1 MAIL_DIR=var/mail $(BIN)/python manage.py runserver $(HOST):$(PORT)

## make dev-celery: web + Celery worker + beat against the local Redis (CELERY_BROKER_URL, default db 0);
## emails go to files in var/mail/ unless EMAIL_HOST is set. Ctrl-C stops all three.
CELERY_BROKER_URL ?= redis://127.0.0.1:6379/0
dev-celery: venv
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 MAIL_DIR=var/mail $(BIN)/python manage.py seed_demo
	@mkdir -p var
	@trap 'kill 0' INT TERM EXIT; \
	DEBUG=1 MAIL_DIR=var/mail CELERY_BROKER_URL=$(CELERY_BROKER_URL) $(BIN)/celery -A spinning worker -l info --concurrency 2 & \
	DEBUG=1 CELERY_BROKER_URL=$(CELERY_BROKER_URL) $(BIN)/celery -A spinning beat -l info --schedule var/celerybeat-schedule & \
	DEBUG=1 MAIL_DIR=var/mail CELERY_BROKER_URL=$(CELERY_BROKER_URL) $(BIN)/python manage.py runserver $(HOST):$(PORT)

## make test: set up the dev venv if needed and run the whole suite (DATABASE_URL picks PostgreSQL)
test: venv-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv-dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

faults: venv-dev
	$(BIN)/python -m bench.faults $(FAULTS_ARGS)

## make clients: generate the Python and TypeScript API clients from a live server's schema and use them
clients: venv-dev
	APP_PYTHON=$(CURDIR)/$(BIN)/python bash tests/clients/run.sh

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
