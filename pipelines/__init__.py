"""Item pipeline stages, one module per stage, in crawl order (ITEM_PIPELINES):

    extract   RawArticle -> record: metadata, DOM pre-clean, body as blocks  extract_raw
    decruft   blocks -> `text`: rules (generic, outlet), then learned       decruft_rules, LearnedLayer
              per-outlet boilerplate
    normalise text and metadata; ids and hashes                              normalise_stage
    validate  JSON Schema; failures to the rejects file, counted             check_record
    dedupe    canonical URL, content hash, near-duplicates                   Deduplicator
    write     output/<outlet>/<YYYY-MM-DD>/part-<run>-<seq>.jsonl

Each module holds its stage's pure function (right) and a thin Scrapy adapter, its
pipeline class. The pure functions never see Scrapy objects: the same ones run in a
crawl, in `newscrawl clean` over saved pages (pipelines/clean.py), and in worker
processes. An adapter reaches the worker pool through the stage runner
(pipelines/runner.py), the one way any CPU-heavy work gets there.

Between stages an article is a plain dict in the published schema plus one internal
field, record[WORK] (pipelines/work.py), which says what each stage hands the next. An
article dropped on purpose leaves with a `pipelines.drops.Settled` that names the status
the outlet ledger records.
"""
