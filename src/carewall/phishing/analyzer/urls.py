"""URL and domain helpers shared by the rule families.

The public-suffix list is the bundled snapshot (no network, no cache
directory), loaded once per process.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import tldextract

from carewall.phishing.analyzer.limits import MAX_LINKS, MAX_URL_CHARS

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

# Linear patterns only: one bounded character class, no nested quantifiers.
_TEXT_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'`{}|\\^\[\]]{2,2000}")
_DOMAIN_LIKE = re.compile(
    r"(?i)^(?:https?://)?(?:www\.)?((?:[a-z0-9\u00a1-\uffff-]{1,63}\.){1,10}[a-z\u00a1-\uffff]{2,63})"
    r"(?:[/:?#]\S*)?$"
)
_DECIMAL_HOST = re.compile(r"^(?:0x[0-9a-f]+|\d{8,10})$")


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    """The parts of a URL the rules look at, normalised to lower case."""

    url: str
    scheme: str
    host: str
    registered: str
    path: str
    query: str
    has_userinfo: bool
    port: int | None


@lru_cache(maxsize=8192)
def registered_domain(host: str) -> str:
    """``login.example.co.uk`` -> ``example.co.uk``; an IP or bare name is returned as is."""
    host = host.strip().strip(".").lower()
    if not host or is_ip_host(host):
        return host
    try:
        ext = _EXTRACT(host)
    except Exception:
        return host
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    return host


@lru_cache(maxsize=8192)
def has_public_suffix(host: str) -> bool:
    """Whether a host ends in a known public suffix (``example.invalid`` does not)."""
    try:
        ext = _EXTRACT(host.strip(".").lower())
    except Exception:
        return False
    return bool(ext.suffix and ext.domain)


@lru_cache(maxsize=8192)
def domain_label(host: str) -> str:
    """The label just left of the public suffix (``paypal`` for ``www.paypal.co.uk``)."""
    reg = registered_domain(host)
    return reg.split(".", 1)[0] if "." in reg else reg


def is_ip_host(host: str) -> bool:
    """Whether a host is an IP literal, including decimal/hex forms browsers accept."""
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_DECIMAL_HOST.match(host))
    return True


_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)


def is_private_ip(host: str) -> bool:
    """Whether a host is a private-network (RFC 1918, CGNAT, ULA), loopback or link-local IP."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if address.is_loopback or address.is_link_local:
        return True
    return any(address.version == n.version and address in n for n in _PRIVATE_NETWORKS)


def parse_url(url: str) -> ParsedUrl | None:
    """Split a URL leniently; None when there is no usable scheme or host."""
    url = url.strip()[:MAX_URL_CHARS]
    if url.lower().startswith("www."):
        url = "http://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in {"data", "javascript", "vbscript", "file"}:
        return ParsedUrl(url, scheme, "", "", parts.path, "", has_userinfo=False, port=None)
    if not host:
        return None
    host = unquote(host).rstrip(".")
    return ParsedUrl(
        url=url,
        scheme=scheme,
        host=host,
        registered=registered_domain(host),
        path=unquote(parts.path).lower(),
        query=unquote(parts.query).lower(),
        has_userinfo="@" in parts.netloc,
        port=port,
    )


def urls_in_text(text: str) -> list[str]:
    """Bare URLs in plain text, trailing punctuation removed."""
    found: list[str] = []
    for match in _TEXT_URL.finditer(text):
        found.append(match.group(0).rstrip(".,;:!?)>'\""))
        if len(found) >= MAX_LINKS:
            break
    return found


def domain_in_text(text: str) -> str | None:
    """The host that link text displays, if the text looks like a URL or domain."""
    text = text.strip().rstrip(".,;:!?")
    if " " in text or len(text) > 300:
        return None
    match = _DOMAIN_LIKE.match(text)
    if not match:
        return None
    host = match.group(1).lower()
    suffix_ok = registered_domain(host) != host or host.count(".") == 1
    if not suffix_ok:
        return None
    ext = _EXTRACT(host)
    return host if ext.suffix else None


def host_of_address(address: str) -> str:
    """Domain part of an e-mail address, lower case, or ''."""
    _, _, domain = address.rpartition("@")
    return domain.strip().strip(">").rstrip(".").lower()
