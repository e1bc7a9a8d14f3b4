import http.client
import threading
import time
import urllib.error
import urllib.request

import pytest

from newscrawl.webserver import Chunk, LocalSite, Page

pytestmark = pytest.mark.e2e  # a local HTTP server


def get(url, headers=None, method="GET"):
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def site():
    with LocalSite() as s:
        s.routes["/"] = Page(b"<html><body>home</body></html>")
        s.routes["/feed.xml"] = Page(b"<rss/>", "application/rss+xml")
        s.routes["/search?q=1"] = Page(b"query one")
        s.routes["/search"] = Page(b"any query")
        yield s


def test_binds_loopback_on_a_free_port(site):
    assert site.url.startswith("http://127.0.0.1:")
    assert site.port > 0
    with LocalSite() as other:
        assert other.port != site.port


def test_serves_pages_with_content_type_and_counts_requests(site):
    status, headers, body = get(site.url + "/")
    assert (status, body) == (200, b"<html><body>home</body></html>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    status, headers, _ = get(site.url + "/feed.xml")
    assert headers["Content-Type"] == "application/rss+xml"
    get(site.url + "/")
    assert site.count("/") == 2
    assert site.count("/feed.xml") == 1
    method, path, sent = site.requests[0]
    assert (method, path) == ("GET", "/")
    assert "User-Agent" in sent


def test_query_string_routes_then_path_fallback(site):
    assert get(site.url + "/search?q=1")[2] == b"query one"
    assert get(site.url + "/search?q=2")[2] == b"any query"


def test_unknown_path_is_404_and_recorded(site):
    status, _, _ = get(site.url + "/nope")
    assert status == 404
    assert site.count("/nope") == 1


def test_head_sends_headers_without_body(site):
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=5)
    connection.request("HEAD", "/")
    response = connection.getresponse()
    assert response.status == 200
    assert int(response.headers["Content-Length"]) == len(b"<html><body>home</body></html>")
    assert response.read() == b""
    # The connection stays usable: nothing stray was written after the headers.
    connection.request("GET", "/")
    assert connection.getresponse().read() == b"<html><body>home</body></html>"
    connection.close()
    assert site.requested_paths("HEAD") == ["/"]


def test_conditional_get_answers_304(site):
    _, headers, _ = get(site.url + "/")
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert get(site.url + "/", {"If-None-Match": etag})[0] == 304
    assert get(site.url + "/", {"If-Modified-Since": last_modified})[0] == 304
    assert get(site.url + "/", {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200
    # If-None-Match wins over If-Modified-Since.
    assert get(site.url + "/", {"If-None-Match": '"other"', "If-Modified-Since": last_modified})[0] == 200
    site.routes["/"] = Page(b"changed")
    status, _, body = get(site.url + "/", {"If-None-Match": etag})
    assert (status, body) == (200, b"changed")


def test_handler_sees_request_and_builds_page(site):
    def echo(request):
        return Page(f"{request.method} {request.path} {request.header('x-probe')}".encode(), "text/plain")

    site.routes["/echo"] = echo
    assert get(site.url + "/echo?a=b", {"X-Probe": "yes"})[2] == b"GET /echo?a=b yes"


def test_failing_handler_answers_500(site):
    site.routes["/boom"] = lambda request: 1 / 0
    assert get(site.url + "/boom")[0] == 500


def test_streamed_body_arrives_in_chunks(site):
    site.routes["/drip"] = Page(iter([b"<html>", Chunk(b"<p>slow</p>", delay=0.05), b"</html>"]))
    status, headers, body = get(site.url + "/drip")
    assert (status, body) == (200, b"<html><p>slow</p></html>")
    assert headers["Transfer-Encoding"] == "chunked"


def test_close_after_truncates_the_body(site):
    site.routes["/cut"] = Page(b"x" * 1000, close_after=100)
    with pytest.raises(http.client.IncompleteRead) as caught:
        with urllib.request.urlopen(site.url + "/cut", timeout=5) as response:
            response.read()
    assert len(caught.value.partial) == 100


def test_reset_aborts_the_connection(site):
    site.routes["/reset"] = Page(b"never sent", reset=True)
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, urllib.error.URLError)):
        urllib.request.urlopen(site.url + "/reset", timeout=5).read()


def test_stop_leaves_no_thread_and_frees_the_port():
    before = set(threading.enumerate())
    site = LocalSite({"/": Page(b"hi")}).start()
    port = site.port
    # An idle keep-alive connection must not keep the server alive.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/")
    connection.getresponse().read()
    # A slow response in flight must not block shutdown either.
    site.routes["/slow"] = Page(b"late", delay=30)
    def fetch_slow():
        try:
            get(site.url + "/slow")
        except (ConnectionError, http.client.HTTPException, urllib.error.URLError):
            pass  # the server going away mid-response is the point

    threading.Thread(target=fetch_slow, daemon=True).start()
    time.sleep(0.2)
    started = time.monotonic()
    site.stop()
    assert time.monotonic() - started < 5
    time.sleep(0.1)
    leftovers = [t for t in set(threading.enumerate()) - before if t.is_alive() and t.daemon is False]
    assert leftovers == []
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
    connection.close()
    site.stop()  # stopping twice is harmless
