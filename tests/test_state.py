"""The SQLite state store as a crawl opens it: its page cache from NEWSCRAWL_STATE_CACHE_KIB."""

from __future__ import annotations

import pytest

from newscrawl.exitcodes import ConfigError
from newscrawl.project import project_settings
from newscrawl.state import open_state


def cache_size(store) -> int:
    return store._db.execute("PRAGMA cache_size").fetchone()[0]


def test_each_connection_gets_the_page_cache_the_setting_gives(tmp_path):
    """A fleet holds one connection per outlet: each gets the project's 256 KiB, not
    SQLite's 2,000; 0 leaves SQLite's default."""
    for value, expected in ((None, -256), ("64", -64), ("0", -2000)):
        overrides = {"NEWSCRAWL_STATE_DIR": str(tmp_path)}
        if value is not None:
            overrides["NEWSCRAWL_STATE_CACHE_KIB"] = value
        store = open_state(project_settings(overrides), "some-outlet")
        try:
            assert cache_size(store) == expected
            store.put("ns", "k", "v")
            assert store.get("ns", "k") == "v"
        finally:
            store.close()


@pytest.mark.parametrize("value", ["-1", "lots", "1.5"])
def test_a_bad_cache_size_is_a_configuration_error(tmp_path, value):
    settings = project_settings({"NEWSCRAWL_STATE_DIR": str(tmp_path), "NEWSCRAWL_STATE_CACHE_KIB": value})
    with pytest.raises(ConfigError, match="NEWSCRAWL_STATE_CACHE_KIB"):
        open_state(settings, "some-outlet")
    assert not list(tmp_path.iterdir())  # nothing opened
