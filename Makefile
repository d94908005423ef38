# The two commands of the README: `make run` (set up, then serve the chat on the bundled interviews) and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run test lint typecheck unit unit-fast bench bench-ingest bench-scale bench-serve bench-held-out train screenshot clean

$(VENV)/.installed: pyproject.toml
	python3.11 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch, pinned, before anything can pull a CUDA one.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,serve,scale]"
	touch $@

# axe-core from npm, for the browser tests' accessibility check (tests/test_browser.py skips it, saying so, without).
AXE := build/axe/node_modules/axe-core/axe.min.js
$(AXE):
	npm install --no-save --no-audit --no-fund --prefix build/axe axe-core@4 \
		|| echo "citeqa: npm is not installed; the browser tests will skip their axe-core check"

setup: $(VENV)/.installed $(AXE)

# The web chat and JSON API on the bundled interviews, at http://127.0.0.1:7860/ until Ctrl+C.
run: setup
	$(VENV)/bin/citeqa serve

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest -q

# The logic tests alone: no embedding model, no reader, no server (a test that would load one fails, saying so).
unit-fast: setup
	CITEQA_TESTS_WITHOUT_MODELS=1 $(VENV)/bin/pytest -q -m "not slow"

test: lint typecheck unit

# The README's picture, docs/chat.png: the browser test that asks a bundled question, keeping its screenshot.
screenshot: setup
	CITEQA_DOCS_SCREENSHOT=1 $(VENV)/bin/pytest -q tests/test_browser.py::test_chat_answers_marks_the_quote_and_opens_the_document

bench: setup
	$(PY) bench/core.py

# Ingest throughput on COVID-QA's 98 long papers vs raw model.encode, and the unchanged re-ingest (~5 min CPU).
COVIDQA ?= ../shared/bench/covidqa/200423_covidQA.json
bench-ingest: setup
	$(PY) bench/ingest_speed.py --squad $(COVIDQA)

# FAISS factories and BM25 at 10^4, 10^5 and 10^6 chunks: build, disk, memory, load, p50/p95, recall@10 (~40 min).
bench-scale: setup
	$(PY) bench/scale.py

# POST /api/ask against a fresh citeqa serve: requests/s, p50/p95 latency at concurrency 1, 8 and 32.
bench-serve: setup
	$(PY) bench/serve.py

# The shipped reader and confidence model, made again: fine-tune the span reader on every set under ../shared/bench
# (split by article, product, policy, post, review domain and paper) in five stages, one epoch over its 55,965
# features and the first 20,000 of a second, then fit the confidence model and its threshold on held-out documents.
# Stage 1 trains on 18,000 features of a seeded draw (about 70 minutes on two CPU cores in fp32; bf16 where the CPU
# computes it); stage 2 goes on from it with the next 8,000 of the same draw (about 40 minutes), stage 3 with the
# next 14,000 (about 45), stage 4 with the last 15,965 (about 65), stage 5 with 20,000 of the second epoch's own
# order at a lower rate (about 80); each also validates (about 12), and the fit takes about 10. Writes
# chat/models/; killed, each stage resumes from build/train. Finished stages are kept: delete build/reader-stage*
# to train them again on other data. With DATA=questions.jsonl CORPUS=folder, your own question set is added to the
# training data (split by document).
DATA ?=
CORPUS ?=
STAGE1 := build/reader-stage1
STAGE2 := build/reader-stage2
STAGE3 := build/reader-stage3
STAGE4 := build/reader-stage4
YOURS = $(if $(DATA),$(DATA) --corpus $(CORPUS))
$(STAGE1)/reader.safetensors: | setup
	$(VENV)/bin/citeqa train $(YOURS) --reader-only --max-features 18000 --out $(STAGE1) --work build/train
$(STAGE2)/reader.safetensors: $(STAGE1)/reader.safetensors
	$(VENV)/bin/citeqa train $(YOURS) --reader-only --continue-from $(STAGE1) --max-features 26000 \
		--learning-rate 5e-5 --threads 1 --out $(STAGE2) --work build/train
$(STAGE3)/reader.safetensors: $(STAGE2)/reader.safetensors
	$(VENV)/bin/citeqa train $(YOURS) --reader-only --continue-from $(STAGE2) --max-features 40000 \
		--learning-rate 5e-5 --out $(STAGE3) --work build/train
$(STAGE4)/reader.safetensors: $(STAGE3)/reader.safetensors
	$(VENV)/bin/citeqa train $(YOURS) --reader-only --continue-from $(STAGE3) --max-features 55965 \
		--learning-rate 5e-5 --out $(STAGE4) --work build/train
train: setup $(STAGE4)/reader.safetensors
	$(VENV)/bin/citeqa train $(YOURS) --continue-from $(STAGE4) --max-features 75965 --learning-rate 3e-5 \
		--work build/train

# Answer quality on the held-out sets `make train` writes, per set, and with --ablate the ablation table (~40 min).
bench-held-out: setup
	$(PY) bench/held_out.py --work build/train --ablate

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
