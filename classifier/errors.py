"""The one error catalogue: every failure the project reports on purpose has a kind from ``ErrorType``.

A kind is what the HTTP error body ``{"error": message, "error_type": kind}`` carries and what the
OpenAPI document lists, so clients can branch on it; which status answers each kind is decided in
one table of the service (``service/api/http_errors.py``), so the code that raises knows no HTTP. The
catalogue sits at the bottom of the import graph (classifier ← training ← service) so that the
errors of all three packages share one base, and the command line catches that base alone.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorType(StrEnum):
    """The closed set of error kinds; each value is the wire's ``error_type`` string."""

    description: str

    def __new__(cls, value: str, description: str) -> ErrorType:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    # the request itself
    malformed_json = "malformed_json", "the body is not valid JSON"
    validation_error = "validation_error", "a field is missing, of the wrong type or out of range"
    unsupported_media_type = "unsupported_media_type", "the body's content type is not one the route reads"
    payload_too_large = "payload_too_large", "the body is larger than the route's limit"
    too_many_headlines = "too_many_headlines", "more headlines than CLICKBAIT_MAX_HEADLINES in one request"
    too_many_to_explain = (
        "too_many_to_explain",
        "more headlines than CLICKBAIT_EXPLAIN_MAX_HEADLINES, or more model inputs than "
        "CLICKBAIT_EXPLAIN_MAX_INPUTS, to explain",
    )
    headline_too_long = "headline_too_long", "a headline is longer than CLICKBAIT_MAX_CHARS"
    too_many_tokens = (
        "too_many_tokens",
        "a headline has more tokens than the model reads and the request said truncate: false",
    )
    empty_headline = "empty_headline", "a headline is empty or blank"
    untrusted_host = (
        "untrusted_host",
        "the Host header names a host this service does not answer to (CLICKBAIT_ALLOWED_HOSTS)",
    )
    request_timeout = "request_timeout", "the body did not arrive within CLICKBAIT_BODY_TIMEOUT_S"
    not_found = "not_found", "no such route, job or model version"
    method_not_allowed = "method_not_allowed", "the route does not take this method"
    client_closed_request = (
        "client_closed_request",
        "the client went away before its answer (never seen by it)",
    )
    http_error = "http_error", "any other refusal raised by the web framework, with its own status"
    # scoring
    not_ready = "not_ready", "no model is loaded yet, or loading failed (Retry-After)"
    overloaded = "overloaded", "the scoring queue is full (Retry-After)"
    # access
    unauthorized = "unauthorized", "the route needs 'Authorization: Bearer <key>'"
    forbidden = "forbidden", "the key is wrong, or no admin keys are configured"
    too_many_wrong_keys = (
        "too_many_wrong_keys",
        "this client presented too many wrong keys in the last minute (Retry-After)",
    )
    rate_limited = (
        "rate_limited",
        "the key made more than CLICKBAIT_KEY_RATE_PER_MINUTE requests (Retry-After)",
    )
    # feeds and pages
    not_a_feed = "not_a_feed", "the body is not RSS, Atom or JSON Feed (415 when it is neither XML nor JSON)"
    malformed_feed = "malformed_feed", "the feed is not well-formed XML or valid JSON, or nests too deep"
    page_too_deep = (
        "page_too_deep",
        "the HTML page nests its elements deeper, or holds more tags, than any page a person reads",
    )
    unsafe_xml = "unsafe_xml", "the XML declares entities or external references"
    too_many_items = "too_many_items", "the feed has more items than CLICKBAIT_FEED_MAX_ITEMS"
    feed_fetch_disabled = "feed_fetch_disabled", "the feed proxy is off (CLICKBAIT_FEED_FETCH)"
    # fetching remote feeds
    bad_url = "bad_url", "only http and https URLs can be fetched"
    host_not_allowed = "host_not_allowed", "the host is not in CLICKBAIT_FEED_ALLOWED_HOSTS"
    address_not_allowed = (
        "address_not_allowed",
        "the host resolves to a non-public address not listed explicitly",
    )
    upstream_unreachable = "upstream_unreachable", "the remote host cannot be resolved or reached"
    upstream_error = "upstream_error", "the remote server (a feed, Miniflux) answered with an error"
    upstream_too_large = "upstream_too_large", "the remote body is larger than CLICKBAIT_FEED_MAX_BYTES"
    upstream_timeout = "upstream_timeout", "the remote server did not answer within CLICKBAIT_FEED_TIMEOUT_S"
    too_many_redirects = "too_many_redirects", "the remote server redirected more than 5 times"
    bad_rules = (
        "bad_rules",
        "a rules file line is not a rule (CLICKBAIT_RULES_FILE; the error names FILE:LINE)",
    )
    # integrations
    not_configured = "not_configured", "the integration is not set up on this server (its settings name how)"
    missing_signature = "missing_signature", "the webhook carries no signature header"
    bad_signature = "bad_signature", "the webhook's signature does not match its body"
    # retraining and the model registry
    job_running = "job_running", "a retraining job is already queued or running"
    job_not_started = "job_not_started", "the job's process could not be started"
    broken_artifact = (
        "broken_artifact",
        "the model version's files are missing, corrupt or do not fit its base",
    )
    nothing_to_roll_back = "nothing_to_roll_back", "only one version was ever promoted"
    version_conflict = "version_conflict", "another version was promoted while a candidate was judged"
    # the install
    missing_extra = (
        "missing_extra",
        "the feature needs an optional part that is not installed (training: the 'train' extra)",
    )
    # the rest
    internal_error = "internal_error", "a bug: the trace is in the server log, never in the answer"


class ClickbaitError(Exception):
    """Base of every error raised on purpose: a message for people and a kind for programs.

    Subclasses name their usual kind; a raise site may give a more precise one. ``retry_after``
    (seconds) says when trying again may succeed.
    """

    error_type: ErrorType = ErrorType.internal_error
    retry_after: float | None = None

    def __init__(
        self, message: str, error_type: ErrorType | None = None, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        if error_type is not None:
            self.error_type = error_type
        if retry_after is not None:
            self.retry_after = retry_after

    @property
    def message(self) -> str:
        return str(self)
