"""What some tests need that a machine may lack: a Redis server on 127.0.0.1:6379, a
RabbitMQ on 127.0.0.1:5672 (guest/guest), the development data sets (aeb-dev,
fundus-dev), Chromium (at NEWSCRAWL_CHROMIUM_PATH, else /usr/bin/chromium). Without it
such a test is skipped, and says why. Where it must be there, name it in
NEWSCRAWL_TEST_REQUIRE (comma-separated: redis, rabbitmq, aeb-dev, fundus-dev, chromium)
and the test fails instead: `.ci/run` requires Redis and RabbitMQ once they answer, and
Chromium once it is installed. A data set's folder given in AEB_DEV or FUNDUS_DEV is
required too."""

from __future__ import annotations

import os
import socket

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


def redis_answers(port: int = 6379) -> bool:
    """A Redis server answers PING on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def rabbitmq_answers(port: int = 5672) -> bool:
    """An AMQP 0-9-1 server answers the protocol header on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            sock.settimeout(2)
            return sock.recv(1) == b"\x01"  # the first byte of a method frame: connection.start
    except OSError:
        return False
