"""`newscrawl demo`: serve the bundled demo outlet on 127.0.0.1 and crawl it for real."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from newscrawl.demo import serve_demo


def summarise(stats: dict, outlet_dir: Path) -> list[str]:
    from pipelines.parts import REJECTS, day_parts, read_records

    lines = []
    for root in (outlet_dir, outlet_dir / REJECTS):
        by_day: dict[Path, list[Path]] = {}
        for path in day_parts(root):
            by_day.setdefault(path.parent, []).append(path)
        for day, parts in by_day.items():
            count = sum(1 for path in parts for _ in read_records(path))
            lines.append(f"  {day}/: {count} records in {len(parts)} part file{'' if len(parts) == 1 else 's'}")
    cruft = {k.rsplit("/", 1)[-1]: v for k, v in stats.items() if k.startswith("newscrawl/cruft/")}
    rejected = {k.split("/", 2)[-1]: v for k, v in stats.items() if k.startswith("newscrawl/rejected/")}
    lines.append(
        f"pages fetched: {stats.get('downloader/response_count', 0)}, "
        f"articles: {stats.get('newscrawl/gate/article', 0)}, "
        f"written: {stats.get('newscrawl/written', 0)}, "
        f"rejected: {sum(rejected.values())} {rejected or ''}".rstrip()
    )
    if cruft:
        lines.append("cruft removed: " + ", ".join(f"{k} {v}" for k, v in sorted(cruft.items())))
    return lines


def run_demo(output_dir: Path, quiet: bool = False) -> int:
    from newscrawl.project import project_settings, run_crawl
    from newscrawl.retention import STAMP_FORMAT
    from newscrawl.spiders.outlets import spider_class_for

    with serve_demo() as served, tempfile.TemporaryDirectory(prefix="newscrawl-demo-") as state_dir:
        outlet = served.outlet
        outlet_dir = output_dir / outlet.name
        if not quiet:
            print(f"demo site: {served.site.url}/ ({len(served.build.all_articles)} articles, "
                  f"{len(served.build.non_articles)} other pages); crawling it…", flush=True)
        settings = project_settings({
            "NEWSCRAWL_OUTPUT_DIR": str(output_dir),
            "NEWSCRAWL_STATE_DIR": state_dir,
            # A local site: no need to be slow.
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            # The demo site is served on this machine's loopback address, which a crawl
            # of the web refuses by default.
            "NEWSCRAWL_ALLOWED_NETWORKS": ["127.0.0.1/32"],
        })
        # The crawl's own log goes to a file, as under `newscrawl crawl`: the terminal shows
        # what a newcomer reads (the site, the summary and where the log is).
        log_file = Path(settings.get("NEWSCRAWL_LOG_DIR") or "logs") / outlet.name / (
            datetime.now(timezone.utc).strftime(STAMP_FORMAT) + ".log")
        log_file.parent.mkdir(parents=True, exist_ok=True)
        settings.set("LOG_FILE", str(log_file))
        settings.set("LOG_FILE_APPEND", False)
        archive_dir = Path(settings.get("NEWSCRAWL_ARCHIVE_DIR") or "archive") / outlet.name
        # The demo starts from nothing each time: a fresh state, and last demo's output and
        # archive gone, so its figures always describe this run.
        shutil.rmtree(outlet_dir, ignore_errors=True)
        shutil.rmtree(archive_dir, ignore_errors=True)
        stats = run_crawl(spider_class_for(outlet), settings)
    print(f"demo crawl finished: {stats.get('finish_reason')} (its log: {log_file})")
    for line in summarise(stats, outlet_dir):
        print(line)
    for path in sorted(archive_dir.glob("*.warc.gz")):
        print(f"  {path}: {path.stat().st_size} bytes, {stats.get('newscrawl/archive/article', 0)} article pages "
              f"as fetched (WARC)")
    return 0 if stats.get("finish_reason") == "finished" else 1
