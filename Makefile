# Two commands on a fresh machine:  `make run` (chat on the bundled corpus)  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-8)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test lint eval eval-cmrc eval-xquad reader fit-reader fit-heuristic bench browser clean test-fast bench-load bench-ann bench-encoder

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[eval,test]"
	rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

run: install            ## the web chat on http://127.0.0.1:7860 (bundled corpus)
	$(BIN)/python app.py $(ARGS)

browser:                ## Debian's chromium for the browser tests (Playwright cannot fetch one)
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

test: install browser   ## the whole test suite (unit, integration, browser, slow)
	$(BIN)/python -m pytest -q $(ARGS)

test-fast: install      ## unit tests only (no model, no server; under a minute)
	$(BIN)/python -m pytest -q -m unit $(ARGS)

lint: install
	$(BIN)/ruff check .

eval: install           ## retrieval + answer quality on the bundled eval set
	$(BIN)/python -m eval $(ARGS)

eval-cmrc: install      ## the same report on CMRC 2018 dev (../shared/bench)
	$(BIN)/python -m eval --squad ../shared/bench/cmrc2018_dev.json $(ARGS)

eval-xquad: install     ## XQuAD public half: Chinese questions, then the same questions in English
	$(BIN)/python -m eval --squad ../shared/bench/xquad/xquad_public.zh.json $(ARGS)
	$(BIN)/python -m eval --squad ../shared/bench/xquad/xquad_public.zh.json \
	  --ask-from ../shared/bench/xquad/xquad_public.en.json $(ARGS)

reader: install         ## retrain the span reader on DRCD (+ English translations) in seven stages (≈ 7 h on 2 cores; each resumable)
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m rag.reader.training --bench ../shared/bench \
	  --out .cache/reader-stage1 --work .cache/reader-training --epochs 1 --lr 8e-4 --max-steps 560
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m rag.reader.training --bench ../shared/bench \
	  --init .cache/reader-stage1 --out .cache/reader-stage2 --work .cache/reader-stage2-work \
	  --epochs 0.65 --lr 4e-4 --seed 14
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m rag.reader.training --bench ../shared/bench \
	  --init .cache/reader-stage2 --out .cache/reader-stage3a --work .cache/reader-stage3a-work \
	  --epochs 0.5 --lr 3e-4 --seed 15 --max-steps 160
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m rag.reader.training --bench ../shared/bench \
	  --init .cache/reader-stage3a --out .cache/reader-stage3b --work .cache/reader-stage3b-work \
	  --epochs 0.9 --lr 4e-4 --seed 16 \
	  --english data/training/drcd_questions_en.jsonl --english-share 0.5
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m rag.reader.training --bench ../shared/bench \
	  --init .cache/reader-stage3b --out .cache/reader-stage4 --work .cache/reader-stage4-work \
	  --epochs 0.75 --lr 3e-4 --seed 17 \
	  --english data/training/drcd_questions_en.jsonl --english-share 0.5
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m rag.reader.training --bench ../shared/bench \
	  --init .cache/reader-stage4 --out .cache/reader-stage5 --work .cache/reader-stage5-work \
	  --epochs 0.57 --lr 2.5e-4 --seed 18 \
	  --english data/training/drcd_questions_en.jsonl --english-share 0.5 \
	  --same-paragraph-negatives 0.4 --bm25-negatives 0.4
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m rag.reader.training --bench ../shared/bench \
	  --init .cache/reader-stage5 --out rag/resources/reader --work .cache/reader-stage6-work \
	  --epochs 0.6 --max-steps 620 --lr 2e-4 --seed 19 \
	  --english data/training/drcd_questions_en.jsonl --english-share 0.7 \
	  --same-paragraph-negatives 0.4 --bm25-negatives 0.4

fit-reader: install     ## fit the reader's answer calibration on held-out DRCD + the bundled set
	$(BIN)/python -m eval fit-reader $(ARGS)

fit-heuristic: install  ## fit the heuristic answerer's weights and thresholds on the same questions
	$(BIN)/python -m eval fit-heuristic $(ARGS)

bench: install          ## speed and scale benchmark
	$(BIN)/python -m eval speed $(ARGS)

bench-ann: install      ## Flat vs calibrated HNSW vs IVF on e5 vectors at 100k and 1M (CPU heavy, ≈ 40 min)
	nice -n 10 env OMP_NUM_THREADS=1 $(BIN)/python -m eval.ann_sweep $(ARGS)

bench-encoder: install  ## encoders: torch vs ONNX fp32 vs int8 texts/s, query p50, cosine, `rag ask` cold start
	$(BIN)/python -m eval.encoder_bench $(ARGS)

bench-load: install     ## 50 concurrent chat users for 60 s (starts app.py; CPU heavy)
	$(BIN)/python -m eval.load_bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache eval/results
