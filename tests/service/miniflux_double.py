"""Moved to tests/support/miniflux.py; test_feed_decisions.py and test_miniflux_users.py still
import it from here."""

from tests.support.miniflux import MinifluxDouble, Sent, entry

__all__ = ["MinifluxDouble", "Sent", "entry"]
