"""URL canonicalisation: one spelling per page, so seen-URL filters and ids agree.

Everything here is pure and total: any text goes in, a string or a bool comes out.

Tracking parameters are dropped and the others keep their order: a server may read them
in order, and the URL a record names must still fetch its page. Scrapy's duplicate filter
(w3lib's canonicalize_url, which sorts them) still fetches two orders of one query once.
w3lib's canonicalize_url is not used here: it keeps default ports and a host's trailing
dot, reorders repeated keys by value, writes "flag" as "flag=" and drops no tracking
parameter (tests/test_urls.py::test_where_w3lib_canonicalize_url_falls_short).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"http": "80", "https": "443"}

# Query parameters that only say how a visitor arrived. Compared lower-cased.
TRACKING_PARAMS = frozenset(
    {
        "utm", "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid",
        "mc_cid", "mc_eid", "_ga", "_gl", "igshid", "yclid", "twclid", "ttclid",
        "li_fat_id", "ref_src", "ref_url", "cmpid", "cmp", "intcmp", "int_cmp", "icid",
        "ocid", "s_cid", "smid", "xtor", "ncid", "sr_share", "mkt_tok", "_hsenc",
        "_hsmi", "hsctatracking", "vero_id", "rb_clickid", "oly_anon_id", "oly_enc_id",
        "wickedid", "spm", "guccounter", "guce_referrer", "guce_referrer_sig",
        "fb_action_ids", "fb_action_types", "fb_ref", "fb_source", "action_object_map",
        "action_type_map", "action_ref_map", "_openstat", "soc_src", "soc_trk",
        "__twitter_impression", "srcref", "mbid",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "piwik_", "hsa_", "ns_")

UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
SUB_DELIMS = "!$&'()*+,;="
# Characters left as they are in each component; anything else is percent-encoded.
PATH_SAFE = frozenset(UNRESERVED | set(SUB_DELIMS) | set(":@/"))
# Inside one query key or value: '&' and '=' delimit pairs, so they stay encoded.
QUERY_PART_SAFE = frozenset((PATH_SAFE | set("?")) - set("&="))
PCT_RE = re.compile(r"%([0-9A-Fa-f]{2})|%|[^%]+")


def _normalise_pct(text: str, safe: frozenset) -> str:
    """Decode escapes of unreserved characters, upper-case the others, encode the unsafe."""
    out = []
    for match in PCT_RE.finditer(text):
        token = match.group(0)
        if match.group(1) is not None:
            char = chr(int(match.group(1), 16))
            out.append(char if char in UNRESERVED else "%" + match.group(1).upper())
        elif token == "%":
            out.append("%25")  # a stray percent sign
        else:
            for char in token:
                if char in safe:
                    out.append(char)
                else:
                    out.extend(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


def is_tracking_param(key: str) -> bool:
    key = key.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _normalise_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return _normalise_pct(host, PATH_SAFE - set("/@:"))


def _normalise_netloc(netloc: str, scheme: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        host, rest = (hostport[: end + 1], hostport[end + 1 :]) if end >= 0 else (hostport, "")
        host = host.lower()
    else:
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
        rest = ":" + port if ":" in hostport else ""
        host = _normalise_host(host)
    if rest.startswith(":"):
        port = rest[1:]
        if port.isascii() and port.isdigit():
            port = str(int(port))
            rest = "" if DEFAULT_PORTS.get(scheme) == port else ":" + port
        elif port == "":
            rest = ""
    return f"{userinfo}{at}{host}{rest}"


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, keeping a trailing slash as given."""
    if "." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    result = "/".join(out)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def _normalise_query(query: str) -> str:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if is_tracking_param(key):
            continue
        pairs.append(
            (_normalise_pct(key, QUERY_PART_SAFE), eq, _normalise_pct(value, QUERY_PART_SAFE))
        )
    return "&".join(f"{k}{eq}{v}" for k, eq, v in pairs)


def _canonicalize_once(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: nothing sound to rewrite
        return url
    scheme = parts.scheme.lower()
    netloc = _normalise_netloc(parts.netloc, scheme) if parts.netloc else ""
    path = _normalise_pct(_remove_dot_segments(parts.path), PATH_SAFE)
    if netloc and not path:
        path = "/"
    return urlunsplit((scheme, netloc, path, _normalise_query(parts.query), ""))


def canonicalize_url(url: str) -> str:
    """The canonical spelling of a URL. Idempotent; never raises on a str."""
    url = url.strip()
    # urlsplit may read what urlunsplit wrote differently (a path starting with "//"
    # and no host, say); repeat until the spelling is a fixed point.
    for _ in range(4):
        result = _canonicalize_once(url).strip()
        if result == url:
            break
        url = result
    return url


def is_fetchable_url(url: str) -> bool:
    """An absolute http(s) URL with a host and no credentials."""
    if not isinstance(url, str) or not url or url != url.strip():
        return False
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError on a malformed port
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return False
    if "@" in parts.netloc:
        return False
    return not any(c.isspace() or ord(c) < 32 for c in parts.netloc)
