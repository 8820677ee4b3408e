"""OPML subscription lists moved onto the feed proxy and back (``clickbait opml rewrite`` / ``restore``).

Each outline's ``xmlUrl``, at any depth of folders, becomes the proxy's URL for that feed,
``PROXY/v1/filter?url=<the feed's URL, encoded>`` followed by the parameters the proxy URL was given
(``mode``, ``threshold``, ``allow``, ``block``); ``restore`` takes the feed's URL back out. Nothing
else is touched: the document is read as the feed filter reads XML (defusedxml's check, then lxml,
which keeps attributes in their order, comments, and outlines without ``xmlUrl``), and only those
attributes are set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

from lxml import etree

from classifier.errors import ClickbaitError, ErrorType
from service.feeds.formats import FeedError, safe_xml_tree

FILTER_PATH = "/v1/filter"  # the proxy's route: service/api/feeds.py, filter_remote_feed


@dataclass(frozen=True)
class Proxy:
    """The proxy's filter route and the parameters every subscription through it gets."""

    base: SplitResult
    params: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, proxy: str) -> Proxy:
        """``proxy``: the service's address (``http://host:8000``) or its filter URL with parameters
        (``http://host:8000/v1/filter?mode=annotate``)."""
        parts = urlsplit(proxy)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ClickbaitError(f"the proxy must be an http(s) URL, not {proxy[:100]!r}", ErrorType.bad_url)
        path = parts.path.rstrip("/")
        path = path if path.endswith(FILTER_PATH) else path + FILTER_PATH
        given = tuple((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "url")
        return cls(parts._replace(path=path, query="", fragment=""), given)

    def url_for(self, feed: str) -> str:
        return urlunsplit(self.base._replace(query=urlencode([("url", feed), *self.params], quote_via=quote)))


def original(url: str) -> str | None:
    """The feed a proxy URL filters (one ``url`` parameter on a ``/v1/filter`` path), else None."""
    parts = urlsplit(url)
    feeds = [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "url"]
    return feeds[0] if parts.path.endswith(FILTER_PATH) and len(feeds) == 1 else None


def rewrite(document: bytes, proxy: str) -> bytes:
    """Every subscription through ``proxy``; one that already goes through a proxy stays as it is."""
    through = Proxy.of(proxy)
    return _mapped(document, lambda url: url if original(url) is not None else through.url_for(url))


def restore(document: bytes) -> bytes:
    """Every subscription that goes through a proxy back to its feed; the others stay as they are."""
    return _mapped(document, lambda url: original(url) or url)


def _mapped(document: bytes, change: Callable[[str], str]) -> bytes:
    tree = safe_xml_tree(document)
    if etree.QName(tree.getroot()).localname != "opml":
        raise FeedError(
            f"the document's root is <{etree.QName(tree.getroot()).localname}>, not <opml>",
            ErrorType.not_a_feed,
        )
    for outline in tree.getroot().iter("outline"):
        url = outline.get("xmlUrl")
        if url is not None:
            outline.set("xmlUrl", change(url))
    info = tree.docinfo  # lxml reads standalone="no" and no standalone alike: only "yes" is kept
    standalone = True if info.standalone else None
    written = etree.tostring(
        tree, xml_declaration=True, encoding=info.encoding or "UTF-8", standalone=standalone
    )
    return written + b"\n" if document.endswith(b"\n") else written
