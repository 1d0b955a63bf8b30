# grader: the two commands of the README are `make grade` and `make test`.
# Every target installs what it needs first, so both work on a fresh machine.

PYTHON ?= python3
EXAMPLE ?= submissions/correct/template_with_seed.py
PYTEST_ARGS ?=

.PHONY: help setup docker image grade test test-fast testcases schema bench clean

help:
	@echo "make grade      set up (Python package, Docker, sandbox image) and grade $(EXAMPLE)"
	@echo "make test       set up and run the whole test suite, Docker sandbox included"
	@echo "make test-fast  the tests that need neither Docker nor servers"
	@echo "make testcases  regenerate testcases/generated/ from the case files and reference/"
	@echo "make schema     regenerate grader/schema/report.v1.json from the report model"
	@echo "make image      build the sandbox image (falls back to a debootstrap base offline)"
	@echo "make bench      measure grading speed (single grade, batch, service, queue), hostile-run cost, diagnosis"

setup:
	PYTHON=$(PYTHON) bash scripts/setup.sh

docker: setup
	bash scripts/install-docker.sh

image: docker
	PYTHON=$(PYTHON) bash scripts/build-image.sh

grade: image
	$(PYTHON) -m grader $(EXAMPLE) --report out/example.report.json

test: image
	bash scripts/run-tests.sh $(PYTEST_ARGS)

test-fast: setup
	$(PYTHON) -m pytest -q -m "not slow and not docker" $(PYTEST_ARGS)

testcases: setup
	$(PYTHON) -m grader.testcases

schema: setup
	$(PYTHON) -m grader.report

bench: image
	$(PYTHON) bench/single_bench.py
	$(PYTHON) bench/batch_bench.py
	$(PYTHON) bench/scoring_bench.py
	$(PYTHON) bench/service_bench.py
	$(PYTHON) bench/queue_bench.py
	$(PYTHON) bench/hostile_bench.py
	$(PYTHON) bench/diagnosis_eval.py

clean:
	rm -rf out/ .pytest_cache/ build/ *.egg-info
