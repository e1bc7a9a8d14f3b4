"""One outlet's lock, state, ledger and output, for the commands that write records outside
a crawl (`newscrawl reclean`, `newscrawl import-warc`), taken and left as a crawl takes and
leaves them, so that what they write is, to the next crawl, what a crawl wrote:

- the outlet's lock (newscrawl/lock.py), at once or LockHeld: an outlet being crawled is
  not written into meanwhile, nor crawled while a command writes into it;
- its ledger, brought up to its output first (`reconcile`, as the write stage does when
  a crawl opens);
- the records, published in parts (pipelines/parts.py); each part, once published, is
  remembered by the dedupe state and then recorded in the ledger, as the write stage
  does, so a kill in between is repaired by the next reconcile, and what was not yet
  published was never recorded: the next run does it again;
- rejects, in the outlet's rejects parts, as the validate stage writes them;
- a dropped article settled in the ledger with its status (`settle`), unless a record of
  the same URL was written in this session: that record's part settles it.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from pathlib import Path

from newscrawl.faults import storage_fault
from newscrawl.ledger import OutletLedger
from newscrawl.lock import outlet_locked
from newscrawl.state import open_state
from pipelines.parts import REJECTS, SUFFIXES, WriterSet, output_folder, part_key, utc_day, writer_settings
from pipelines.validate import reject_entry
from pipelines.work import public_fields


def output_compression(settings) -> str:
    """NEWSCRAWL_OUTPUT_COMPRESSION, checked."""
    compression = settings.get("NEWSCRAWL_OUTPUT_COMPRESSION", "") or ""
    if compression not in SUFFIXES:
        raise ValueError(f"NEWSCRAWL_OUTPUT_COMPRESSION must be one of {sorted(SUFFIXES)}, not {compression!r}")
    return compression


class OutletSession:
    """Opened with the outlet's lock taken (LockHeld when a crawl holds it); `close` (or
    `abort`, on a fault: nothing more is published) releases everything."""

    def __init__(self, settings, outlet: str, dedup=None):
        self.outlet = outlet
        self.output_dir = Path(settings.get("NEWSCRAWL_OUTPUT_DIR") or "output")
        self.folder = output_folder(self.output_dir, outlet)  # refuses what is no outlet name
        self.dedup = dedup
        self.written_urls: set[str] = set()
        state_dir = settings.get("NEWSCRAWL_STATE_DIR") or "state"
        # The outlet's flock and, in a cluster (NEWSCRAWL_CLUSTER_LOCK_URL), its lease
        # across machines: what a crawl of the outlet takes.
        self._locks = ExitStack()
        try:
            self.lock = self._locks.enter_context(outlet_locked(settings, outlet))
        except OSError as exc:
            raise storage_fault("state folder", state_dir, exc) from exc
        self.store = None
        try:
            self.store = open_state(settings, outlet)
            self.ledger = OutletLedger(self.store, outlet, self.output_dir)
            with self._output():
                self.ledger.reconcile(on_records=self._remember)
            batch = writer_settings(settings)
            self.writers = WriterSet(self.output_dir, output_compression(settings), on_commit=self._committed,
                                     **batch)
            self.rejects = WriterSet(self.output_dir, "", **batch)  # plain, as the validate stage's
        except BaseException:
            self._release()
            raise

    @contextmanager
    def _output(self):
        """An OSError of the output folder is its storage fault (exit 8)."""
        try:
            yield
        except OSError as exc:
            if exc.errno is None:
                raise
            raise storage_fault("output folder", self.folder, exc) from exc

    def _remember(self, records: list[dict]) -> None:
        if self.dedup is not None:
            for record in records:
                self.dedup.remember(record)

    def _committed(self, path: Path, records: list[dict]) -> None:
        self._remember(records)
        self.ledger.commit(part_key(path), records, path.stat().st_size)

    def write(self, record: dict, facts: dict | None = None) -> None:
        """Writes the record (its public fields); `facts` about its fetch (the ledger's
        "req", "c", "e", "l") are recorded with it once its part is published."""
        if facts:
            self.ledger.pending[record["url"]] = facts
        with self._output():
            self.writers.writer(self.outlet, utc_day(record.get("fetched_at"))).write(public_fields(record))
        self.written_urls.add(record["url"])

    def reject(self, record: dict, reasons: list[str]) -> None:
        entry = reject_entry(public_fields(record), reasons)
        with self._output():
            self.rejects.writer(self.outlet, REJECTS, utc_day(record.get("fetched_at"))).write(entry)

    def settle(self, url: str, status: str, facts: dict | None = None) -> None:
        """An article dropped without a record (a duplicate, a reject): not taken again
        unless it changes (see OutletLedger.settle)."""
        if not url or url in self.written_urls:
            return
        if facts:
            self.ledger.pending[url] = facts
        self.ledger.settle(url, status)

    def close(self) -> None:
        """Publishes what is left, then lets go of the state and the lock."""
        try:
            with self._output():
                self.writers.close()
                self.rejects.close()
        finally:
            self._release()

    def abort(self) -> None:
        """Lets go without publishing what is left: it was never recorded, so the next
        run does it again."""
        self.writers.discard()
        self.rejects.discard()
        self._release(quiet=True)

    def _release(self, quiet: bool = False) -> None:
        store, self.store = self.store, None
        try:
            if store is not None:
                store.close()
        except Exception:  # noqa: BLE001 - after a fault, the store may fail to close too
            if not quiet:
                raise
        finally:
            self._locks.close()
