"""Helpers the tests share: made-up data, real server processes, test databases, feed and page
documents, the browser. Fixtures stay in the conftest files; what they and the tests import lives here."""
