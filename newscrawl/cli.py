"""The `newscrawl` command: demo, clean, crawl."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def project_settings(overrides: dict | None = None):
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "newscrawl.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    if overrides:
        settings.setdict(overrides, priority="cmdline")
    return settings


def run_crawl(spider_cls, settings, **spider_kwargs) -> dict:
    """Runs one spider to the end in this process and returns its stats."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, **spider_kwargs)
    process.start()
    return crawler.stats.get_stats()


def read_html_file(path: Path) -> str:
    """Decodes a saved page the way the crawl decodes a response (BOM, then <meta charset>,
    then UTF-8 with replacement)."""
    from w3lib.encoding import html_to_unicode

    _, text = html_to_unicode(None, path.read_bytes())
    return text


def cmd_clean(args) -> int:
    from newscrawl.outlets import OutletConfigError, generic_outlet, load_outlets
    from pipelines.clean import clean_page

    outlets = load_outlets()
    status = 0
    for name in args.files:
        path = Path(name)
        url = args.url or path.resolve().as_uri()
        try:
            if args.outlet:
                outlet = outlets[args.outlet]
            else:
                outlet = next((o for o in outlets.values() if o.owns(url)), None) or generic_outlet(
                    url if url.startswith("http") else "http://localhost/"
                )
            html = read_html_file(path)
        except (OSError, KeyError, OutletConfigError) as exc:
            print(f"newscrawl clean: {name}: {exc}", file=sys.stderr)
            status = 2
            continue
        record = clean_page(html, url, outlet, state_settings=project_settings())
        print(json.dumps(record, ensure_ascii=False))
    return status


def cmd_demo(args) -> int:
    from newscrawl.demo.run import run_demo

    return run_demo(output_dir=Path(args.output), quiet=args.quiet)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newscrawl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="crawl a bundled demo news site served on 127.0.0.1")
    demo.add_argument("--output", default="output", help="output folder (default: output)")
    demo.add_argument("--quiet", action="store_true", help="only the summary")
    demo.set_defaults(func=cmd_demo)

    clean = sub.add_parser("clean", help="run the crawl's extraction and cleaning on saved HTML files")
    clean.add_argument("files", nargs="+", metavar="FILE")
    clean.add_argument("--url", help="the page's URL (for relative links and outlet rules)")
    clean.add_argument("--outlet", help="outlet record whose rules apply (default: from --url)")
    clean.set_defaults(func=cmd_clean)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
