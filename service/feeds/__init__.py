"""Feeds and pages, no HTTP framework: feed formats (parse, drop, annotate), one decision per item for
every path (``decisions.py``), fetching under an SSRF policy, site rules, the headlines of an HTML
page, and the Miniflux client and sweep."""
