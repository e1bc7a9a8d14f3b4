"""`newscrawl import-warc [--outlets-dir DIR] [--all-hosts] [-s NAME=VALUE]... WARC...`:
the HTML pages of a WARC or ARC file (a CC-NEWS file, another crawler's archive) taken
into the output as a crawl would take them, so that the next crawl does not fetch them
again.

First pass (newscrawl/warcjob.py): every response record's headers; an HTML page (status
200) is taken for the outlet record that owns its host (`OutletsByHost`), or, with
`--all-hosts`, for an outlet named from its host (`generic_outlet`, as `scrapy crawl news`
names one); other hosts' pages are counted and left. Only where each page is (file,
offset) and when it was fetched are kept: a 1 GB file costs a few MB.

Second pass, outlet by outlet, each with its lock taken (an outlet being crawled is
skipped, its pages counted, exit 3) and its ledger brought up to its output
(newscrawl/outlet_session.py), its pages in the order they were fetched:
- a page the ledger has settled (written, or dropped as a duplicate or reject) by a fetch
  as late as this one is not taken again (`already known`);
- the article gate, then the cleaning stages as in a crawl (pipelines/clean.py): the
  outlet's learned boilerplate learns from the pages, and its first pages wait for the
  warm-up; the validate stage's rejects go to the rejects parts;
- the dedupe stage (pipelines/dedupe.py) against the shared dedupe state, then the record
  written with `discovered_via` "warc-import", `fetched_at` the record's WARC-Date;
- the ledger records each article with its fetch time (the WARC-Date) as the time it was
  last fetched, the page's ETag and Last-Modified, and its request URL: the next crawl
  skips it as it skips an article it fetched itself then, and fetches it again only when
  a sitemap says it changed since, or a recheck is due (NEWSCRAWL_RECHECK_AFTER).
"""

from __future__ import annotations

from collections import Counter

from newscrawl.discovery import VIA_WARC_IMPORT
from newscrawl.urls import canonicalize_url
from newscrawl.warcjob import WarcJob, plural

# The counts of an outlet's line, in the order said.
OUTCOMES = (("written", "written", None), ("duplicates", "duplicate", "duplicates"),
            ("rejected", "rejected", None), ("not-article", "not an article", "not articles"),
            ("known", "already known", None), ("lost", "lost to a worker crash", "lost to worker crashes"))


def outcomes_text(tally: Counter) -> str:
    return ", ".join(f"{tally[key]} {one if tally[key] == 1 else (many or one)}"
                     for key, one, many in OUTCOMES if tally[key] or key in ("written", "rejected"))


class WarcImport(WarcJob):
    command = "newscrawl import-warc"

    def __init__(self, paths, settings, outlets: dict, *, all_hosts: bool = False, out=None, err=None):
        super().__init__(paths, settings, out=out, err=err)
        self.outlets = outlets
        self.all_hosts = all_hosts
        self.seen: Counter = Counter()  # the first pass: responses, and what was left
        self.total: Counter = Counter()  # the second pass, over every outlet
        self._generic: dict[str, object] = {}
        self._refused_names: set[str] = set()

    # -- which outlet a page is for

    def _host_outlet(self, url: str):
        """An outlet named from the URL's host (--all-hosts); None for a URL with no
        http(s) host, or whose name is another outlet record's."""
        from urllib.parse import urlsplit

        from newscrawl.outlets import OutletConfigError, generic_outlet, outlet_name_for_host

        try:
            name = outlet_name_for_host(urlsplit(url).hostname or "")
            if name in self.outlets:  # a record of that name that does not own this host
                if name not in self._refused_names:
                    self._refused_names.add(name)
                    self.say(f"pages of {urlsplit(url).hostname} left: the outlet named from the host, "
                             f"{name!r}, is an outlet record that does not own it")
                return None
            if name not in self._generic:
                self._generic[name] = generic_outlet(url)
            return self._generic[name]
        except (OutletConfigError, ValueError):
            return None

    # -- the run

    def work(self) -> None:
        from newscrawl.outlets import OutletsByHost

        owners = OutletsByHost(self.outlets.values())
        entries: dict[str, list[tuple[float, int, int, str]]] = {}  # (fetched, file, offset, URL)
        chosen: dict[str, object] = {}
        for file_no, found in self.found():
            self.seen["responses"] += 1
            if found.status != 200 or not found.html:
                self.seen["not-html"] += 1
                continue
            outlet = owners.owner(found.url) or (self._host_outlet(found.url) if self.all_hosts else None)
            if outlet is None:
                self.seen["other-hosts"] += 1
                continue
            chosen[outlet.name] = outlet
            entries.setdefault(outlet.name, []).append(
                (found.date.timestamp() if found.date else 0.0, file_no, found.offset, found.url))
        if entries and not self.stopping:
            self.over_outlets(sorted(entries), lambda name, dedup: self._import_outlet(
                chosen[name], sorted(entries[name]), dedup), dedupe=True)
        self._summary(chosen)

    def _import_outlet(self, outlet, entries: list[tuple[float, int, int, str]], dedup) -> None:
        tally: Counter = Counter()
        with self.outlet_session(outlet, len(entries), dedup, "imported") as session:
            if session is not None:
                self._take(session, outlet, entries, dedup, tally)
        if tally:
            self.total.update(tally)
            print(f"{self.command}: {outlet.name}: {plural(tally['pages'], 'page')}: {outcomes_text(tally)}",
                  file=self.out, flush=True)

    def _take(self, session, outlet, entries, dedup, tally: Counter) -> None:
        from pipelines.clean import CleaningStages
        from pipelines.decruft import CruftAuditLog, LearnedLayer
        from pipelines.learner import learner_from_settings

        settings = self.settings
        audit_log = CruftAuditLog(settings) if settings.getbool("NEWSCRAWL_AUDIT_CRUFT_FILE", False) else None
        layer = LearnedLayer(learner_from_settings(session.store, outlet.name, settings),
                             warmup=settings.getint("NEWSCRAWL_BOILERPLATE_WARMUP", 12),
                             audit=settings.getbool("NEWSCRAWL_AUDIT_CRUFT", False), audit_log=audit_log)
        stages = CleaningStages(self.runner, lambda _name: layer, min_words=self.min_words)
        facts: dict[object, tuple] = {}  # a page's URL and fetch facts, for the ledger, until it is settled
        try:
            for batch in self.batches(entries):
                calls = []
                for fetched, file_no, offset, url in batch:
                    if self._known(session, url, fetched):
                        tally["pages"] += 1
                        tally["known"] += 1
                    else:
                        calls.append(((file_no, offset), file_no, offset, outlet))
                        facts[(file_no, offset)] = (url, {"req": canonicalize_url(url), "c": int(fetched)})
                articles, others = self.extract(calls, tally)
                for tag, _, _ in others:
                    facts.pop(tag)
                records = []
                for tag, _, found in articles:
                    if "crash" in found:
                        records.append((tag, found["crash"], outlet))
                        continue
                    record = found["record"]
                    record["discovered_via"], record["discovered_from"] = VIA_WARC_IMPORT, None
                    facts[tag][1].update(e=found["headers"].get("ETag"), l=found["headers"].get("Last-Modified"))
                    records.append((tag, record, outlet))
                done = stages.learned(records)
                if self.stopping:  # a signal while the batch was cleaned: it is left for the next run
                    return
                self._settle(session, done, facts, dedup, tally)
            if not self.stopping:
                self._settle(session, stages.release(), facts, dedup, tally)
        finally:
            if audit_log is not None:
                audit_log.close()

    @staticmethod
    def _known(session, url: str, fetched: float) -> bool:
        """Settled in the ledger by a fetch at least as late as this one (a page without a
        date is not newer than any)."""
        for candidate in dict.fromkeys((canonicalize_url(url), url)):
            _, entry = session.ledger.lookup(candidate)
            if entry is not None:
                return not fetched or float(entry.get("c") or entry.get("t") or 0) >= fetched
        return False

    @staticmethod
    def _settle(session, done, facts: dict, dedup, tally: Counter) -> None:
        """What the validate, dedupe and write stages do with each cleaned page."""
        from pipelines.dedupe import dedupe_record

        for cleaned in done:
            url, fact = facts.pop(cleaned.tag)
            if cleaned.record is None:  # its worker died twice: rejected, as WorkerLost is
                session.settle(url, "rejected", fact)
                tally["rejected"] += 1
                continue
            url = cleaned.record["url"]
            if cleaned.problems:
                session.reject(cleaned.record, [reason for _, reason in cleaned.problems])
                session.settle(url, "rejected", fact)
                tally["rejected"] += 1
                continue
            verdict = dedupe_record(dedup, cleaned.record)
            if verdict.keep:
                session.write(verdict.record, fact)
                tally["written"] += 1
            else:
                session.settle(url, "duplicate", fact)
                tally["duplicates"] += 1

    def _summary(self, chosen: dict) -> None:
        seen, total = self.seen, self.total
        left = [plural(seen["other-hosts"], "page") + " of hosts no outlet record owns" if seen["other-hosts"] else "",
                plural(seen["not-html"], "response") + " not an HTML page (status 200)" if seen["not-html"] else "",
                plural(self.locked, "page") + " of locked outlets" if self.locked else ""]
        line = (f"{plural(len(self.paths), 'file')}, {plural(seen['responses'], 'response')}; "
                f"{plural(total['pages'], 'page')} of {plural(len(chosen), 'outlet')}: {outcomes_text(total)}")
        line += "".join(f"; {part}" for part in left if part) + self.problems_text()
        print(f"{self.command}: {line}", file=self.out, flush=True)
