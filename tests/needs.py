"""What some tests need that a machine may lack: a Redis server on 127.0.0.1:6379, the
development data sets (aeb-dev, fundus-dev), Chromium (at NEWSCRAWL_CHROMIUM_PATH, else
/usr/bin/chromium). Without it such a test is skipped, and says why. Where it must be
there, name it in NEWSCRAWL_TEST_REQUIRE (comma-separated: redis, aeb-dev, fundus-dev,
chromium) and the test fails instead: `.ci/run` requires Redis once one answers, and
Chromium once it is installed.
A data set's folder given in AEB_DEV or FUNDUS_DEV is required too."""

from __future__ import annotations

import os

import pytest

REQUIRED = {name.strip() for name in os.environ.get("NEWSCRAWL_TEST_REQUIRE", "").split(",") if name.strip()}
REQUIRED |= {name for name, variable in (("aeb-dev", "AEB_DEV"), ("fundus-dev", "FUNDUS_DEV"))
             if os.environ.get(variable)}


def missing(name: str, reason: str) -> None:
    """In a test: skip it for want of `name`, or fail when `name` is required."""
    if name in REQUIRED:
        pytest.fail(f"{reason} (required by NEWSCRAWL_TEST_REQUIRE, AEB_DEV or FUNDUS_DEV)")
    pytest.skip(reason)


def needs(name: str, available: bool, reason: str):
    """A marker: skip the test without `name`; when `name` is required, the test runs and
    fails on what it lacks."""
    return pytest.mark.skipif(not available and name not in REQUIRED, reason=reason)
