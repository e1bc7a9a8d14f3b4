import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from newscrawl.urls import canonicalize_url, is_fetchable_url


@pytest.mark.parametrize(
    "url, expected",
    [
        ("HTTP://WWW.Example.COM/Path", "http://www.example.com/Path"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a/#comments", "https://example.com/a/"),
        ("https://example.com/a/", "https://example.com/a/"),
        ("https://example.com/a", "https://example.com/a"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com./a", "https://example.com/a"),
        # tracking parameters go, real ones stay in their order
        (
            "https://example.com/story?utm_source=tw&utm_medium=social&id=42&fbclid=abc",
            "https://example.com/story?id=42",
        ),
        (
            "https://example.com/s?page=2&gclid=x&p=7&dclid=1&gbraid=2&wbraid=3&msclkid=4",
            "https://example.com/s?page=2&p=7",
        ),
        (
            "https://example.com/s?mc_cid=1&mc_eid=2&_ga=3&_gl=4&igshid=5&yclid=6&ref_src=7",
            "https://example.com/s",
        ),
        (
            "https://example.com/s?cmpid=1&ocid=2&s_cid=3&at_medium=4&at_campaign=5&UTM_Term=6",
            "https://example.com/s",
        ),
        ("https://example.com/s?b=2&a=1&a=0", "https://example.com/s?b=2&a=1&a=0"),
        ("https://example.com/s?", "https://example.com/s"),
        ("https://example.com/s?flag&x=", "https://example.com/s?flag&x="),
        # percent-encoding: unreserved decoded, hex upper-cased, unsafe encoded
        ("https://example.com/%7Euser/%41b", "https://example.com/~user/Ab"),
        ("https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9"),
        ("https://example.com/café", "https://example.com/caf%C3%A9"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/100%", "https://example.com/100%25"),
        ("https://example.com/?q=a%26b&r=%3D", "https://example.com/?q=a%26b&r=%3D"),
        ("https://example.com/?q=a+b", "https://example.com/?q=a+b"),
        ("https://Bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("http://[2001:DB8::1]:80/", "http://[2001:db8::1]/"),
        ("  https://example.com/x  ", "https://example.com/x"),
    ],
)
def test_canonicalize(url, expected):
    assert canonicalize_url(url) == expected
    assert canonicalize_url(expected) == expected


def test_equivalent_spellings_meet():
    spellings = [
        "https://News.Example.com:443/2024/05/story?id=1&utm_campaign=x#top",
        "https://news.example.com/2024/05/story?utm_source=feed&id=1",
        "https://news.example.com/2024/05/./story?id=1&fbclid=z",
    ]
    assert len({canonicalize_url(u) for u in spellings}) == 1


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://[2001:DB8::1]:80/", "http://[2001:db8::1]/"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://example.com/s?b=2&a=1&a=0", "https://example.com/s?b=2&a=1&a=0"),
        ("https://example.com/s?flag&x=", "https://example.com/s?flag&x="),
        ("https://example.com/100%", "https://example.com/100%25"),
        ("https://example.com/story?utm_source=tw&id=42&fbclid=abc", "https://example.com/story?id=42"),
    ],
)
def test_where_w3lib_canonicalize_url_falls_short(url, expected):
    """Why newscrawl.urls canonicalises by itself: w3lib's canonicalize_url (Scrapy's, for
    request fingerprints) gives another spelling of each of these."""
    from w3lib.url import canonicalize_url as w3lib_canonicalize_url

    assert canonicalize_url(url) == expected
    assert w3lib_canonicalize_url(url) != expected


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://example.com/a", True),
        ("http://example.com", True),
        ("HTTPS://EXAMPLE.COM/", True),
        ("ftp://example.com/a", False),
        ("mailto:desk@example.com", False),
        ("javascript:alert(1)", False),
        ("/relative/path", False),
        ("https:///nohost", False),
        ("https://user:pass@example.com/", False),
        ("https://user@example.com/", False),
        ("https://example.com:99999/", False),
        ("https://exa mple.com/", False),
        ("http://[::1/", False),
        ("", False),
    ],
)
def test_is_fetchable_url(url, ok):
    assert is_fetchable_url(url) is ok


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_canonicalize_total_and_idempotent_on_text(text):
    once = canonicalize_url(text)
    assert isinstance(once, str)
    assert canonicalize_url(once) == once


URLISH = st.builds(
    lambda scheme, host, port, path, query, frag: f"{scheme}://{host}{port}{path}{query}{frag}",
    st.sampled_from(["http", "HTTPS", "https"]),
    st.sampled_from(["Example.COM", "ex.example", "xn--bcher-kva.example", "bücher.example", "[::1]"]),
    st.sampled_from(["", ":80", ":443", ":8080", ":", ":0080"]),
    st.text(alphabet="/abc.%2Fé ~-_09", max_size=30),
    st.lists(
        st.tuples(
            st.sampled_from(["id", "utm_source", "p", "fbclid", "a", "A", "x%20y", "é"]),
            st.text(alphabet="az09%&=+é ", max_size=6),
        ),
        max_size=5,
    ).map(lambda kv: ("?" + "&".join(f"{k}={v}" for k, v in kv)) if kv else ""),
    st.sampled_from(["", "#", "#frag"]),
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(URLISH, urls()))
def test_canonicalize_idempotent_on_urls(url):
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once
    assert "#" not in once
    assert "utm_source=" not in once and "fbclid=" not in once
