"""The `newscrawl` command: demo, clean, crawl, worker, enqueue, schedule, status, check, reset, compact,
reclean, import-warc."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from newscrawl import clock
from newscrawl.project import project_settings


def read_html_file(path: Path) -> str:
    """Decodes a saved page the way the crawl decodes a response (newscrawl.charset: BOM,
    <meta charset>, UTF-8 with stray bytes repaired, another script's legacy encoding
    detected, else windows-1252)."""
    from newscrawl.charset import decode_html

    return decode_html(path.read_bytes())


def cmd_clean(args) -> int:
    from newscrawl.outlets import OutletConfigError, generic_outlet, load_registry
    from newscrawl.state import open_state, state_exists
    from pipelines.clean import clean_pages
    from pipelines.pool import WorkerCrash, WorkerPool, pool_from_settings

    settings = project_settings(_settings_from(args))
    outlets = load_registry()
    if args.outlet and args.outlet not in outlets:
        print(f"newscrawl clean: no outlet record named {args.outlet!r}", file=sys.stderr)
        return 2
    stores: dict[str, object] = {}
    status = 0
    pages: list[tuple[str, str, object]] = []
    names: list[str] = []
    for name in args.files:
        path = Path(name)
        url = args.url or path.resolve().as_uri()
        try:
            outlet = outlets[args.outlet] if args.outlet else next(
                (o for o in outlets.values() if o.owns(url)), None
            ) or generic_outlet(url if url.startswith("http") else "http://localhost/")
            html = read_html_file(path)
        except (OSError, OutletConfigError) as exc:
            print(f"newscrawl clean: {name}: {exc}", file=sys.stderr)
            status = 1
            continue
        if outlet.name not in stores:
            # The outlet's learned boilerplate, when a crawl has left some; never created here.
            stores[outlet.name] = open_state(settings, outlet.name) if state_exists(settings, outlet.name) else None
        pages.append((html, url, outlet))
        names.append(name)
    # One file is cleaned here; many go through the worker pool, as in a crawl.
    pool = pool_from_settings(settings) if len(pages) > 1 else WorkerPool(0)
    try:
        results = clean_pages(pages, settings=settings, stores=stores, pool=pool,
                              crash_marker=settings.get("NEWSCRAWL_TEST_WORKER_CRASH_MARKER") or None)
    finally:
        pool.close()
    for name, result in zip(names, results):
        if isinstance(result, WorkerCrash):
            print(f"newscrawl clean: {name}: {result}", file=sys.stderr)
            status = 1
            continue
        record, warnings = result
        for warning in warnings:
            print(f"newscrawl clean: {name}: {warning}", file=sys.stderr)
        print(json.dumps(record, ensure_ascii=False), flush=True)
    for store in stores.values():
        if store is not None:
            store.close()
    return status


def _settings_from(args) -> dict:
    return dict(kv.split("=", 1) for kv in args.set)


def _scan(args):
    from newscrawl.outlets import scan_outlets, scan_registry

    return scan_outlets(Path(args.outlets_dir)) if args.outlets_dir else scan_registry()


def cmd_crawl(args) -> int:
    """Runs the outlets side by side in one child `scrapy crawl` process (`--jobs`: that many,
    each a shard), one crawler per outlet with its own lock, state, log file and exit
    code; prints one line per outlet as it ends, and a summary. An
    invalid outlet record is skipped with one line on stderr per problem, the others are
    crawled, and the exit code is then CONFIG (2),
    unless an outlet ended with an error in our code (1: see exitcodes.SEVERITY).
    SIGTERM / SIGINT stop every crawl (newscrawl/cronrun.py, Fleet) and exit INTERRUPTED (9)."""
    from newscrawl import exitcodes
    from newscrawl.cronrun import crawl_outlets
    from newscrawl.stop import stop_timeout

    found = _wanted(args, "crawl")
    if isinstance(found, int):
        return found
    scan, wanted = found
    if args.shard:
        from newscrawl.cronrun import shard_of

        try:
            k, n = (int(x) for x in args.shard.split("/"))
            if not 1 <= k <= n:
                raise ValueError
        except ValueError:
            print(f"newscrawl crawl: --shard takes K/N with 1 <= K <= N, not {args.shard!r}", file=sys.stderr)
            return exitcodes.CONFIG
        wanted = [name for name in wanted if shard_of(name, n) == k]
        if not wanted:
            print(f"newscrawl: 0 outlets in shard {k}/{n}; exit={exitcodes.OK}")
            return exitcodes.OK
    names, skipped = _skip_invalid(scan, wanted, "crawl")
    if not names:
        print(f"newscrawl: 0 outlets; {_invalid_records(skipped)} skipped; exit={exitcodes.CONFIG}")
        return exitcodes.CONFIG
    settings = project_settings(_settings_from(args))
    try:
        timeout = stop_timeout(settings)
        clock.offset()  # a bad NEWSCRAWL_CLOCK_OFFSET is said here, not in the middle of a crawl
    except exitcodes.ConfigError as exc:
        print(f"newscrawl crawl: {exc}", file=sys.stderr)
        return exitcodes.CONFIG
    return crawl_outlets(names, log_dir=Path(settings.get("NEWSCRAWL_LOG_DIR") or "logs"), jobs=args.jobs,
                         settings=_settings_from(args), outlets_dir=args.outlets_dir, skipped=skipped,
                         stop_timeout=timeout)


def _invalid_records(count: int) -> str:
    return f"{count} invalid record{'' if count == 1 else 's'}"


def _wanted(args, command: str):
    """(the records scanned, the outlet names `--all` or the names given stand for), or
    the exit code CONFIG, said on stderr, when there are none or a name is unknown."""
    from newscrawl import exitcodes

    if bool(args.all) == bool(args.outlets):
        print(f"newscrawl {command}: give outlet names or --all", file=sys.stderr)
        return exitcodes.CONFIG
    scan = _scan(args)
    wanted = sorted(set(scan.outlets) | set(scan.invalid)) if args.all else list(dict.fromkeys(args.outlets))
    unknown = [n for n in wanted if n not in scan.outlets and n not in scan.invalid]
    if unknown or not wanted:
        print(f"newscrawl {command}: no outlet record named {', '.join(unknown) or '(none found)'}", file=sys.stderr)
        return exitcodes.CONFIG
    return scan, wanted


def _skip_invalid(scan, wanted: list[str], command: str) -> tuple[list[str], int]:
    """The valid outlets among `wanted`, and how many invalid records were skipped, each
    problem said in one line on stderr."""
    skipped = [n for n in wanted if n in scan.invalid]
    for name in skipped:
        for problem in scan.invalid[name]:
            print(f"newscrawl {command}: invalid record skipped: {problem}", file=sys.stderr)
    sys.stderr.flush()
    return [n for n in wanted if n in scan.outlets], len(skipped)


def cmd_worker(args) -> int:
    """A Celery worker whose tasks are fleet crawls (newscrawl/cluster.py)."""
    from newscrawl.cluster import run_worker

    return run_worker(_settings_from(args), args.concurrency, args.outlets_dir)


def cmd_enqueue(args) -> int:
    """Sends the outlets' crawls to the workers, in tasks of NEWSCRAWL_OUTLETS_PER_TASK
    outlets; exits CONFIG (2) after sending when an invalid record was skipped."""
    from newscrawl import exitcodes
    from newscrawl.cluster import enqueue

    found = _wanted(args, "enqueue")
    if isinstance(found, int):
        return found
    names, skipped = _skip_invalid(*found, "enqueue")
    if not names:
        print(f"newscrawl enqueue: 0 outlets; {_invalid_records(skipped)} skipped", file=sys.stderr)
        return exitcodes.CONFIG
    code = enqueue(names, _settings_from(args))
    return exitcodes.combined([code] + ([exitcodes.CONFIG] if skipped else []))


def cmd_schedule(args) -> int:
    from newscrawl.cluster import run_schedule

    return run_schedule(_settings_from(args), args.outlets_dir)


def cmd_status(args) -> int:
    from newscrawl.cluster import show_status

    return show_status(_settings_from(args))


def cmd_check(args) -> int:
    """Validates outlet records against the published schema: one line per problem, then
    'N records, M valid, K problems'; exit 0 when all are valid, CONFIG (2) otherwise."""
    from newscrawl import exitcodes
    from newscrawl.outlets import OutletScan

    if args.files:
        scan = OutletScan()
        for name in args.files:
            scan.add(Path(name))
    elif args.outlets_dir and not Path(args.outlets_dir).is_dir():
        print(f"newscrawl check: {args.outlets_dir}: no such folder", file=sys.stderr)
        return exitcodes.CONFIG
    else:
        scan = _scan(args)
    problems = scan.problems
    for problem in problems:
        print(problem)
    print(f"newscrawl check: {scan.files} record{'' if scan.files == 1 else 's'}, {scan.valid_files} valid, "
          f"{len(problems)} problem{'' if len(problems) == 1 else 's'}")
    return exitcodes.CONFIG if problems else exitcodes.OK


def cmd_reset(args) -> int:
    """Forgets what an outlet's crawls emitted, so the next crawl fetches every article
    as new. Run reports stay (they are the health check's history), and so does the
    archive unless --delete-archive says otherwise: it holds pages as they were when
    fetched, which a new crawl cannot bring back, and no state is derived from it."""
    from newscrawl import exitcodes
    from newscrawl.faults import Fault
    from newscrawl.ledger import OutletLedger, delete_output, forget_outlet_globally
    from newscrawl.lock import LockHeld, outlet_locked
    from newscrawl.state import open_state
    from pipelines.parts import OutputPathError, output_folder

    settings = project_settings(_settings_from(args))
    output_dir = settings.get("NEWSCRAWL_OUTPUT_DIR") or "output"
    try:
        output_folder(output_dir, args.outlet)  # refuses names that are not outlet names
    except OutputPathError as exc:
        print(f"newscrawl reset: {exc}", file=sys.stderr)
        return exitcodes.CONFIG
    try:
        with outlet_locked(settings, args.outlet):
            store = open_state(settings, args.outlet)
            try:
                if args.delete_output:
                    delete_output(output_dir, args.outlet)
                if args.delete_archive:
                    from newscrawl.archive import archive_files

                    for path in archive_files(Path(settings.get("NEWSCRAWL_ARCHIVE_DIR") or "archive"), args.outlet):
                        path.unlink()
                if args.forget_boilerplate:
                    store.clear()
                OutletLedger(store, args.outlet, output_dir).reset(keep_output=not args.delete_output)
            finally:
                store.close()
            shared = open_state(settings, "_global")
            try:
                removed = forget_outlet_globally(shared, args.outlet)
            finally:
                shared.close()
    except LockHeld as exc:
        print(f"newscrawl reset: {exc}", file=sys.stderr)
        return exitcodes.LOCKED
    except Fault as exc:  # the cluster's Redis does not answer
        print(f"newscrawl reset: {exc.message}", file=sys.stderr)
        return exc.code
    deleted = [what for what, asked in (("output", args.delete_output), ("archive", args.delete_archive)) if asked]
    print(f"newscrawl reset: {args.outlet}: state cleared ({removed} shared dedupe entries removed"
          f"{''.join(f', {what} deleted' for what in deleted)}); the next crawl fetches every article again")
    return exitcodes.OK


def cmd_compact(args) -> int:
    """Merges each day's parts of an outlet into one part, for fewer and larger files:
    every day before today (UTC), or the --day given. Refuses (exit LOCKED) an outlet
    whose crawl runs: the crawl writes that folder and records its parts meanwhile."""
    from newscrawl import exitcodes
    from newscrawl.faults import Fault
    from newscrawl.ledger import OutletLedger
    from newscrawl.lock import LockHeld, outlet_locked
    from newscrawl.state import open_state
    from pipelines.parts import DAY_RE, OutputPathError, output_folder

    settings = project_settings(_settings_from(args))
    output_dir = Path(settings.get("NEWSCRAWL_OUTPUT_DIR") or "output")
    if args.day and not (DAY_RE.match(args.day) and _is_date(args.day)):
        print(f"newscrawl compact: --day {args.day!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return exitcodes.CONFIG
    try:
        for name in args.outlets:
            output_folder(output_dir, name)  # refuses names that are not outlet names
    except OutputPathError as exc:
        print(f"newscrawl compact: {exc}", file=sys.stderr)
        return exitcodes.CONFIG
    outlets = args.outlets or sorted(p.name for p in output_dir.glob("*") if p.is_dir() and _outlet_name(p.name))
    today = clock.now().date()
    codes = []
    for name in outlets:
        folder = output_dir / name
        days = [args.day] if args.day else sorted(
            p.name for p in folder.glob("*") if DAY_RE.match(p.name) and _is_date(p.name)
            and date.fromisoformat(p.name) < today)
        try:
            with outlet_locked(settings, name):
                store = open_state(settings, name)
                try:
                    ledger = OutletLedger(store, name, output_dir)
                    merged_days = 0
                    for day in days:
                        merged, count, left = ledger.compact(day)
                        if merged is not None:
                            merged_days += 1
                            print(f"newscrawl compact: {name} {day}: {count} parts merged into {merged.name}")
                        if left:
                            print(f"newscrawl compact: {name} {day}: {left} part{'' if left == 1 else 's'} "
                                  "not yet in state left alone (the next crawl records them)")
                    if not merged_days:
                        print(f"newscrawl compact: {name}: nothing to merge")
                finally:
                    store.close()
        except LockHeld as exc:
            print(f"newscrawl compact: {exc}", file=sys.stderr)
            codes.append(exitcodes.LOCKED)
        except Fault as exc:  # the cluster's Redis does not answer
            print(f"newscrawl compact: {name}: {exc.message}", file=sys.stderr)
            codes.append(exc.code)
        except OSError as exc:
            from newscrawl.faults import storage_fault

            print(f"newscrawl compact: {name}: {storage_fault('output folder', folder, exc)}", file=sys.stderr)
            codes.append(exitcodes.STORAGE)
    return exitcodes.combined(codes)


def _outlet_name(name: str) -> bool:
    from pipelines.parts import OutputPathError, output_folder

    try:
        output_folder(".", name)
    except OutputPathError:
        return False
    return True


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _warc_command(args, command: str, make_job) -> int:
    """What `reclean` and `import-warc` share: the settings and outlet records (an invalid
    record is skipped with a line), the WARC files (one that cannot be opened is a line,
    and exit 2 once the others are done), then the job (newscrawl/warcjob.py)."""
    from newscrawl import exitcodes
    from newscrawl.outlet_session import output_compression
    from newscrawl.warcread import open_archives

    settings = project_settings(_settings_from(args))
    try:
        output_compression(settings)
    except ValueError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return exitcodes.CONFIG
    if args.outlets_dir and not Path(args.outlets_dir).is_dir():
        print(f"{command}: {args.outlets_dir}: no such folder", file=sys.stderr)
        return exitcodes.CONFIG
    scan = _scan(args)
    for problem in scan.problems:
        print(f"{command}: invalid record skipped: {problem}", file=sys.stderr)
    paths, unreadable = open_archives(args.files)
    for line in unreadable:
        print(f"{command}: {line}", file=sys.stderr)
    if not paths:
        return exitcodes.CONFIG
    job = make_job(paths, settings, scan.outlets)
    if job is None:
        return exitcodes.CONFIG
    code = job.run()
    return exitcodes.combined([code, exitcodes.CONFIG if unreadable else exitcodes.OK])


def cmd_reclean(args) -> int:
    """Today's cleaning over archived article pages: a new revision for each article whose
    text or metadata changed, or the records on stdout (newscrawl/reclean.py)."""
    from newscrawl.reclean import Reclean

    def make_job(paths, settings, outlets):
        if args.outlet and args.outlet not in outlets:
            print(f"newscrawl reclean: no outlet record named {args.outlet!r}", file=sys.stderr)
            return None
        return Reclean(paths, settings, outlets, outlet=outlets.get(args.outlet), to_stdout=args.stdout)

    return _warc_command(args, "newscrawl reclean", make_job)


def cmd_import_warc(args) -> int:
    """The HTML pages of WARC or ARC files into the outlets' output, as a crawl would take
    them (newscrawl/warcimport.py)."""
    from newscrawl.warcimport import WarcImport

    return _warc_command(args, "newscrawl import-warc",
                         lambda paths, settings, outlets: WarcImport(paths, settings, outlets,
                                                                     all_hosts=args.all_hosts))


def cmd_demo(args) -> int:
    from newscrawl.demo.run import run_demo

    return run_demo(output_dir=Path(args.output), quiet=args.quiet)


def _outlet_arguments(parser: argparse.ArgumentParser, set_help: str) -> None:
    """OUTLET... or --all, --outlets-dir and -s, as `crawl` and `enqueue` take them."""
    parser.add_argument("outlets", nargs="*", metavar="OUTLET")
    parser.add_argument("--all", action="store_true", help="every outlet record")
    parser.add_argument("--outlets-dir", help="use only the outlet records in this folder")
    _set_option(parser, set_help)


def _set_option(parser: argparse.ArgumentParser, set_help: str) -> None:
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE", help=set_help)


def _warc_parser(sub, name: str, func, help_text: str) -> argparse.ArgumentParser:
    """A command over WARC files: the files, --outlets-dir and -s."""
    parser = sub.add_parser(name, help=help_text)
    parser.add_argument("files", nargs="+", metavar="WARC", help="WARC or ARC files (.warc, .warc.gz, .arc, .arc.gz)")
    parser.add_argument("--outlets-dir", help="use only the outlet records in this folder")
    _set_option(parser, "a setting, as with scrapy -s (e.g. NEWSCRAWL_OUTPUT_DIR=output)")
    parser.set_defaults(func=func)
    return parser


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
    clean.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                       help="a setting, as with scrapy -s (e.g. NEWSCRAWL_STATE_DIR=state)")
    clean.set_defaults(func=cmd_clean)

    crawl = sub.add_parser("crawl", help="crawl outlets (or --all) from cron: locks, logs, exit codes")
    _outlet_arguments(crawl, "a setting passed to every crawl, as with scrapy -s")
    crawl.add_argument("--jobs", type=int, default=1,
                       help="crawl processes, each crawling a share of the outlets side by side (default 1)")
    crawl.add_argument("--shard", metavar="K/N", help="crawl only the K-th of N disjoint sets of the outlets "
                                                      "(K from 1 to N; an outlet stays in its set)")
    crawl.set_defaults(func=cmd_crawl)

    cluster_commands = (
        ("worker", "a worker that runs the crawls sent to the cluster's queue (Celery)", cmd_worker,
         "a setting passed to every crawl, as with scrapy -s"),
        ("enqueue", "send outlets' crawls (or --all) to the cluster's workers", cmd_enqueue,
         "a setting for these crawls (politeness, budgets, batching), or the broker's"),
        ("schedule", "send each outlet's crawl when its record's schedule says (Celery beat)", cmd_schedule,
         "a setting, as with scrapy -s (e.g. NEWSCRAWL_BROKER_URL=...)"),
        ("status", "the cluster's queue, running crawls and each outlet's last result", cmd_status,
         "a setting, as with scrapy -s (e.g. NEWSCRAWL_BROKER_URL=...)"),
    )
    for name, what, func, set_help in cluster_commands:
        command = sub.add_parser(name, help=what)
        if name == "enqueue":
            _outlet_arguments(command, set_help)
        else:
            if name != "status":
                command.add_argument("--outlets-dir", help="use only the outlet records in this folder")
            _set_option(command, set_help)
        if name == "worker":
            command.add_argument("--concurrency", type=int, default=1, help="crawl processes at once, each "
                                 "crawling one task's outlets side by side (default 1)")
        command.set_defaults(func=func)

    check = sub.add_parser("check", help="validate outlet records against their schema (for a pre-commit hook or CI)")
    check.add_argument("files", nargs="*", metavar="FILE", help="record files to check (default: every record)")
    check.add_argument("--outlets-dir", help="check the records in this folder (default: the shipped records "
                                              "and NEWSCRAWL_OUTLETS_DIR's)")
    check.set_defaults(func=cmd_check)

    reset = sub.add_parser("reset", help="forget an outlet's crawl state: the next crawl fetches everything")
    reset.add_argument("outlet", metavar="OUTLET")
    reset.add_argument("--delete-output", action="store_true", help="also delete its article and reject files")
    reset.add_argument("--delete-archive", action="store_true",
                       help="also delete its archive (WARC files), which --delete-output keeps")
    reset.add_argument("--forget-boilerplate", action="store_true", help="also forget its learned boilerplate")
    reset.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                       help="a setting, as with scrapy -s (e.g. NEWSCRAWL_STATE_DIR=state)")
    reset.set_defaults(func=cmd_reset)

    reclean = _warc_parser(sub, "reclean", cmd_reclean, "run today's cleaning over archived article pages "
                                                        "(WARC files): a new revision for each article it changes")
    reclean.add_argument("--outlet", help="the outlet whose pages these are (default: the outlet each file's "
                                          "warcinfo record names, else the record that owns the page's host)")
    reclean.add_argument("--stdout", action="store_true",
                         help="print the records instead of writing revisions (nothing is written)")

    import_warc = _warc_parser(sub, "import-warc", cmd_import_warc, "take the HTML pages of WARC or ARC files "
                                                                    "(CC-NEWS, another crawler's archive) into "
                                                                    "the outlets' output")
    import_warc.add_argument("--all-hosts", action="store_true",
                             help="also the pages of hosts no outlet record owns, each host an outlet named from it")

    compact = sub.add_parser("compact", help="merge each day's output parts of outlets into one file per day")
    compact.add_argument("outlets", nargs="*", metavar="OUTLET", help="outlets (default: every outlet with output)")
    compact.add_argument("--day", metavar="YYYY-MM-DD", help="only this UTC day (default: every day before today)")
    compact.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                         help="a setting, as with scrapy -s (e.g. NEWSCRAWL_OUTPUT_DIR=output)")
    compact.set_defaults(func=cmd_compact)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
