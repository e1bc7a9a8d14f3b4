"""One spider class per outlet record, derived from the registry at import time.

An invalid record makes no spider: each of its problems is logged as a warning (so
`scrapy list` lists the valid outlets and says what is wrong with the others), and
`scrapy crawl <its name>` says why there is no spider (newscrawl/commands/crawl.py).
"""

from __future__ import annotations

import logging

from newscrawl.outlet_schema import RecordProblem
from newscrawl.outlets import Outlet, scan_registry
from newscrawl.spiders.news import NewsSpider

logger = logging.getLogger(__name__)

# The invalid records, by file name without .toml: their problems.
INVALID: dict[str, list[RecordProblem]] = {}


def spider_class_for(outlet: Outlet) -> type[NewsSpider]:
    class_name = "".join(p.capitalize() for p in outlet.name.replace("_", "-").split("-")) + "Spider"
    return type(class_name, (NewsSpider,), {"name": outlet.name, "outlet": outlet, "__module__": __name__})


def _define_spiders() -> None:
    scan = scan_registry()
    for outlet in scan.outlets.values():
        cls = spider_class_for(outlet)
        globals()[cls.__name__] = cls
    INVALID.update(scan.invalid)
    for problem in scan.problems:
        logger.warning("outlet record skipped: %s", problem)


_define_spiders()
