"""One spider class per outlet record, derived from the registry at import time."""

from __future__ import annotations

from newscrawl.outlets import Outlet, load_registry
from newscrawl.spiders.news import NewsSpider


def spider_class_for(outlet: Outlet) -> type[NewsSpider]:
    class_name = "".join(p.capitalize() for p in outlet.name.replace("_", "-").split("-")) + "Spider"
    return type(class_name, (NewsSpider,), {"name": outlet.name, "outlet": outlet, "__module__": __name__})


def _define_spiders() -> None:
    for outlet in load_registry().values():
        cls = spider_class_for(outlet)
        globals()[cls.__name__] = cls


_define_spiders()
