"""Item pipeline stages, one module per stage, in crawl order:

    extract   RawArticle -> record with `_blocks` (DOM pre-clean, body, metadata)
    decruft   `_blocks` -> `text` (generic, outlet and learned boilerplate rules)
    normalise text and metadata; ids and hashes
    validate  JSON Schema; failures to the rejects file, counted
    dedupe    canonical URL, content hash, near-duplicates
    write     output/<outlet>/<YYYY-MM-DD>/part-<run>-<seq>.jsonl

Each module holds a pure function of the record plus explicit state, and a thin Scrapy
pipeline class around it. The pure functions never see Scrapy objects, so the same
stages run in a crawl, in `newscrawl clean` over saved pages, and in worker processes.

Record fields that start with "_" are internal (blocks, the outlet record) and are
removed before validation.
"""
