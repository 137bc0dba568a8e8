"""The DNS resolver of a crawl process: Scrapy's caching resolver that will not hand out a
loopback, private, link-local or otherwise non-public address for a name the sources do not
allow (``allow_private_hosts``).

``ingest.urls.may_fetch`` refuses such addresses when they are written in a URL; this refuses
them when a name resolves to one (a hostile DNS record, or a rebinding between two lookups:
the check is made on the very address the connection will use). Twisted hands every host it
connects to, IP literals included, to this resolver, so nothing connects around it.

One resolver serves the whole process (Twisted has one per reactor), so its allow list is the
union of the sources' lists; each source's own `may_fetch` still applies its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from ingest.urls import host_identity, is_private_address

if TYPE_CHECKING:
    from typing import Self

    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred

ALLOW_SETTING = "INGEST_PRIVATE_HOSTS"

# Names refused in this process, with the address they resolved to. The refusal reaches the
# spider's errback as a generic DNSLookupError (Twisted's endpoint swallows the resolver's
# error), so classify_failure looks the host up here to name the reason.
_refused: dict[str, str] = {}


class PrivateAddressRefused(DNSLookupError):
    """A name resolved to a non-public address and is not in the allow list."""


def refused_address(host: str) -> str | None:
    """The private address `host` resolved to, if this process refused it."""
    return _refused.get(host_identity(host))


class PrivateAddressResolver(CachingThreadedResolver):
    def __init__(self, reactor: ReactorBase, cache_size: int, timeout: float, allowed: Iterable[str] = ()) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.allowed = frozenset(host_identity(h) for h in allowed)

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: ReactorBase) -> Self:
        base = super().from_crawler(crawler, reactor)
        base.allowed = frozenset(host_identity(h) for h in crawler.settings.getlist(ALLOW_SETTING))
        return base

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        d = super().getHostByName(name, timeout)
        d.addCallback(self._check, name)
        return d

    def _check(self, address: str, name: str) -> str:
        host = host_identity(name)
        if is_private_address(address) and host not in self.allowed:
            _refused[host] = address
            raise PrivateAddressRefused(f"{name} resolves to {address}, a non-public address")
        return address
