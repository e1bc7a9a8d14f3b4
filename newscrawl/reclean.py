"""`newscrawl reclean [--outlet NAME] [--outlets-dir DIR] [--stdout] [-s NAME=VALUE]... WARC...`:
today's cleaning over the article pages of an archive (newscrawl/archive.py), without
fetching anything again.

First pass (newscrawl/warcjob.py): every response record's headers. The article pages
are taken (`Newscrawl-Page: article`; in a WARC newscrawl did not write, every HTML page,
which the article gate then judges), each for its outlet: `--outlet NAME`, else the outlet
its file's warcinfo record names, else the outlet record that owns its host. Each URL is
recleaned from its newest fetch among the files given: an older fetch holds an older page,
which must not come back as the article's latest revision (they are counted).

Second pass, outlet by outlet, in the order the pages were archived: the page as the
crawl handed it on (its decoded body, how it was found and its sitemap or feed hints,
from the WARC headers the archive writes; without them, from an older archive, the
article's record says how it was found, and its publication date stands in for the
sitemap's), then the article gate and the cleaning stages
as in the crawl and `newscrawl clean` (pipelines/clean.py: the outlet's learned boilerplate
read, not updated), and the validate stage. The record is compared with the article's
latest revision in the output (`Current`), on what cleaning makes: every field but the
fetch's provenance (`fetched_at`, `discovered_via`, `discovered_from`, `http_status`),
`revision`, `duplicate_of` and `cleaning.pipeline_version`.

- unchanged: nothing is written;
- changed (text or metadata): written as the next revision (`revision` + 1), with the
  article's `fetched_at` (the later of its record's and this fetch's) and provenance,
  `cleaning.pipeline_version` saying which cleaner made it, and `modified_at` the page's
  own or else the revision's before (the site did not change it; the cleaner did). A
  changed text goes through the dedupe stage (its near-copies are looked for again); a
  page with no record yet (the crawl dropped it) is an article if the dedupe stage keeps
  it. The ledger and the dedupe state record the revision as the write stage records one,
  so the next crawl does not write the same text again;
- rejected: it fails the gate or validation today (the reasons go to the rejects parts,
  as the validate stage writes them); the article's record stays as it is.

With `--stdout` nothing is written, locked or recorded: each record is printed as it
would be (the revision it would get), rejects' reasons go to stderr, and the summary too.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from newscrawl.warcjob import WarcJob, plural

PROVENANCE = ("fetched_at", "discovered_via", "discovered_from", "http_status")
NOT_COMPARED = frozenset({*PROVENANCE, "revision", "duplicate_of"})


def cleaning_digest(record: dict) -> str:
    """A digest of what cleaning made of the page: the record less its provenance,
    revision, duplicate_of and the cleaner's version."""
    made = {k: v for k, v in record.items() if k not in NOT_COMPARED and not k.startswith("_")}
    cleaning = dict(made.get("cleaning") or {})
    cleaning.pop("pipeline_version", None)
    made["cleaning"] = cleaning
    return hashlib.sha1(json.dumps(made, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Current:
    """What reclean needs of an article's latest revision in the output."""

    revision: int
    fetched_at: str
    discovered_via: str | None
    discovered_from: str | None
    published_at: str | None
    modified_at: str | None
    duplicate_of: str | None
    content_hash: str
    digest: str


def current_records(output_dir: Path, outlet: str) -> dict[str, Current]:
    """The latest revision of each article of the outlet's output, by URL."""
    from pipelines.parts import day_parts, read_records

    current: dict[str, Current] = {}
    for path in day_parts(Path(output_dir) / outlet):
        for record in read_records(path, skip_unreadable=True):
            url, revision = record.get("url"), int(record.get("revision") or 1)
            known = current.get(url)
            if url and (known is None or revision >= known.revision):
                current[url] = Current(revision, record.get("fetched_at") or "", record.get("discovered_via"),
                                       record.get("discovered_from"), record.get("published_at"),
                                       record.get("modified_at"),
                                       record.get("duplicate_of"), record.get("content_hash") or "",
                                       cleaning_digest(record))
    return current


def _later(a: str, b: str) -> str:
    try:
        return a if datetime.fromisoformat(a) >= datetime.fromisoformat(b) else b
    except (TypeError, ValueError):
        return a or b


class Reclean(WarcJob):
    command = "newscrawl reclean"

    def __init__(self, paths, settings, outlets: dict, *, outlet=None, to_stdout: bool = False, out=None, err=None):
        super().__init__(paths, settings, out=out, err=err)
        self.outlets = outlets
        self.outlet = outlet  # --outlet: every page is this outlet's
        self.to_stdout = to_stdout
        self.seen: Counter = Counter()
        self.total: Counter = Counter()
        self.many = False  # more than one outlet: each gets its line too
        self._named: dict[str, object] = {}

    def _outlet_of(self, found, owners):
        """--outlet, else the outlet the file's warcinfo names (its record, or one named
        so for the page's site), else the record that owns the page's host."""
        from newscrawl.outlets import NAME_RE, OutletConfigError, generic_outlet

        if self.outlet is not None:
            return self.outlet
        name = found.file_outlet
        if name and NAME_RE.match(name):
            if name in self.outlets:
                return self.outlets[name]
            if name not in self._named:
                try:
                    self._named[name] = generic_outlet(found.url, name=name)
                except OutletConfigError:
                    return None
            return self._named[name]
        return owners.owner(found.url)

    def work(self) -> None:
        from newscrawl.archive import ARTICLE
        from newscrawl.outlets import OutletsByHost

        owners = OutletsByHost(self.outlets.values())
        newest: dict[str, dict[str, tuple[float, int, int]]] = {}
        chosen: dict[str, object] = {}
        for file_no, found in self.found():
            if found.page not in (None, ARTICLE) or found.status != 200 or not found.html:
                continue  # another page of the archive (NEWSCRAWL_ARCHIVE_ALL), a redirect, not HTML
            outlet = self._outlet_of(found, owners)
            if outlet is None:
                self.seen["no-outlet"] += 1
                continue
            chosen[outlet.name] = outlet
            fetched = found.date.timestamp() if found.date else 0.0
            pages = newest.setdefault(outlet.name, {})
            earlier = pages.get(found.url)
            if earlier is not None:
                self.seen["older"] += 1
                if earlier[0] > fetched:
                    continue
            pages[found.url] = (fetched, file_no, found.offset)
        if newest and not self.stopping:
            self._reclean(chosen, newest)
        self._summary()

    def _reclean(self, chosen: dict, newest: dict) -> None:
        self.many = len(newest) > 1

        def each(name: str, dedup) -> None:
            self._outlet(chosen[name], sorted((file_no, offset, url) for url, (_, file_no, offset)
                                              in newest[name].items()), dedup)

        self.over_outlets(sorted(newest), each, dedupe=not self.to_stdout)

    def _outlet(self, outlet, entries: list[tuple[int, int, str]], dedup) -> None:
        from newscrawl.state import open_state, state_exists

        tally: Counter = Counter()
        if self.to_stdout:
            # The learned boilerplate a crawl left, read; never created here.
            store = open_state(self.settings, outlet.name) if state_exists(self.settings, outlet.name) else None
            try:
                self._pages(outlet, entries, None, store, None, tally)
            finally:
                if store is not None:
                    store.close()
        else:
            with self.outlet_session(outlet, len(entries), dedup, "recleaned") as session:
                if session is not None:
                    self._pages(outlet, entries, session, session.store, dedup, tally)
        if tally:
            self.total.update(tally)
            if self.many:
                print(f"{self.command}: {outlet.name}: {self._counts(tally)}",
                      file=self.err if self.to_stdout else self.out, flush=True)

    def _pages(self, outlet, entries, session, store, dedup, tally: Counter) -> None:
        from pipelines.clean import CleaningStages, reading_layers

        current = current_records(Path(self.settings.get("NEWSCRAWL_OUTPUT_DIR") or "output"), outlet.name)
        stages = CleaningStages(self.runner, reading_layers(self.settings, {outlet.name: store}),
                                min_words=self.min_words)
        for batch in self.batches(entries):
            # An archive written before newscrawl kept the sitemap's hints: the article's
            # publication date stands in for them (the page's own still wins).
            calls = [((file_no, offset), file_no, offset, outlet, self._hints(current.get(url)))
                     for file_no, offset, url in batch]
            articles, others = self.extract(calls, tally)
            tally["rejected"] += tally.pop("not-article", 0)
            for _, _, found in others:
                self._say_rejected(session, found["url"], [f"not an article page by today's article gate "
                                                           f"({found.get('reason') or found.get('refused')})"])
            records = []
            for tag, _, found in articles:
                record = found.get("record")
                if record is not None and (known := current.get(record["url"])) is not None:
                    # How the article was found, from its record where its WARC headers do not say.
                    record["discovered_via"] = record["discovered_via"] or known.discovered_via
                    record["discovered_from"] = record["discovered_from"] or known.discovered_from
                records.append((tag, found.get("crash", record), outlet))
            done = stages.learned(records)  # the learned layer only reads: no page waits
            if self.stopping:
                return
            for cleaned in done:
                known = current.get(cleaned.record["url"]) if cleaned.record is not None else None
                self._judge(cleaned, known, session, dedup, tally)

    @staticmethod
    def _hints(known: "Current | None") -> dict | None:
        return {"published_at": known.published_at} if known is not None and known.published_at else None

    def _say_rejected(self, session, url: str, reasons: list[str]) -> None:
        """With --stdout, a rejected page's reasons on stderr (else they go to the rejects
        parts, or, for the gate, nowhere: as in the crawl)."""
        if session is None:
            self.say(f"{url}: rejected: {'; '.join(reasons)}")

    def _judge(self, cleaned, known: Current | None, session, dedup, tally: Counter) -> None:
        """Unchanged, changed (written, or printed), or rejected."""
        from pipelines.dedupe import dedupe_record
        from pipelines.work import WORK, public_fields

        record = cleaned.record
        if record is None:
            tally["rejected"] += 1
            return
        if cleaned.problems:
            tally["rejected"] += 1
            reasons = [reason for _, reason in cleaned.problems]
            if session is not None:
                session.reject(record, reasons)
            self._say_rejected(session, record["url"], reasons)
            return
        if known is not None:
            # The article's own: when it was fetched, its revision and copy status, and
            # its modified date where the page gives none (set when a change was seen).
            record["fetched_at"] = _later(known.fetched_at, record["fetched_at"])
            record["revision"], record["duplicate_of"] = known.revision, known.duplicate_of
            record["modified_at"] = record.get("modified_at") or known.modified_at
            if cleaning_digest(record) == known.digest:
                tally["unchanged"] += 1
                if session is None:
                    self._print(public_fields(record))
                return
        if session is None:
            tally["changed"] += 1
            record["revision"] = known.revision + 1 if known is not None else 1
            self._print(public_fields(record))
            return
        if known is not None and record["content_hash"] == known.content_hash:
            record.pop(WORK, None)  # the same text: the dedupe state has it already
        else:
            modified = record.get("modified_at")
            verdict = dedupe_record(dedup, record)
            if not verdict.keep:
                tally["duplicates"] += 1
                return
            record = verdict.record
            record["modified_at"] = modified  # the cleaner changed, not the page
        if known is not None:
            record["revision"] = known.revision + 1
        session.write(record)
        tally["changed"] += 1

    def _print(self, record: dict) -> None:
        print(json.dumps(record, ensure_ascii=False), file=self.out, flush=True)

    @staticmethod
    def _counts(tally: Counter) -> str:
        line = (f"{plural(tally['pages'], 'page')}, {tally['changed']} changed, {tally['unchanged']} unchanged, "
                f"{tally['rejected']} rejected")
        if tally["duplicates"]:
            line += f", {plural(tally['duplicates'], 'duplicate')}"
        return line

    def _summary(self) -> None:
        seen = self.seen
        notes = [plural(seen["older"], "older fetch", "older fetches") + " of the same URLs not recleaned"
                 if seen["older"] else "",
                 plural(seen["no-outlet"], "page") + " of hosts no outlet record owns" if seen["no-outlet"] else "",
                 plural(self.locked, "page") + " of locked outlets" if self.locked else ""]
        line = self._counts(self.total) + "".join(f"; {note}" for note in notes if note) + self.problems_text()
        print(f"{self.command}: {line}", file=self.err if self.to_stdout else self.out, flush=True)
