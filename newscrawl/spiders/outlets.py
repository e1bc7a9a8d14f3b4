"""One spider class per outlet record, derived from the registry at import time."""

from __future__ import annotations

import os
from pathlib import Path

from newscrawl.outlets import Outlet, load_outlets
from newscrawl.spiders.news import NewsSpider


def spider_class_for(outlet: Outlet) -> type[NewsSpider]:
    class_name = "".join(p.capitalize() for p in outlet.name.replace("_", "-").split("-")) + "Spider"
    return type(class_name, (NewsSpider,), {"name": outlet.name, "outlet": outlet, "__module__": __name__})


def _registry() -> dict[str, Outlet]:
    outlets = load_outlets()
    extra = os.environ.get("NEWSCRAWL_OUTLETS_DIR")
    if extra:
        outlets.update(load_outlets(Path(extra)))
    return outlets


def _define_spiders() -> None:
    for outlet in _registry().values():
        cls = spider_class_for(outlet)
        globals()[cls.__name__] = cls


_define_spiders()
