"""Routes for other tools' feeds and pages: filtering, the feed proxy, Miniflux, page headlines."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable
from dataclasses import asdict
from html import escape
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from classifier.errors import ClickbaitError, ErrorType
from classifier.scorer import Scorer
from classifier.threshold import decision_threshold
from service.api.deps import (
    PersonalDep,
    ProfileQuery,
    ScoringDep,
    SettingsDep,
    WebhookBodiesDep,
    check_headlines,
    current_scorer,
    personal_answers,
    read_body,
    reader_of,
    require_admin,
    require_reader,
    score_many,
)
from service.api.labels import store_and_learn
from service.api.schemas import NO_NUL, FeedLabelIn, error_responses
from service.feeds.decisions import Policy, Unscored, Verdicts
from service.feeds.fetch import FetchPolicy, fetch
from service.feeds.formats import FeedItem, LabelLinks, Mode, parse_feed
from service.feeds.miniflux import PREFIXED, Miniflux, entry_items, flagged, miniflux_reader, signed_by
from service.feeds.page_headlines import (
    MAX_DEPTH,
    MAX_TAGS,
    PageHeadline,
    deepest_nesting,
    extract_headlines,
)
from service.feeds.proxy_cache import FeedCache, entity_tag, unchanged
from service.feeds.rules import RuleError, Rules, replace_rules
from service.runtime.personal import PersonalLayers
from service.runtime.scoring_service import ScoringService
from service.settings import MinifluxUser, ServiceSettings
from service.store.label_store import NewLabel, source_of

router = APIRouter()
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/xml",
    "text/xml",
    "application/json",
)
FEED_OUT = {200: {"content": {media: {} for media in FEED_TYPES[:3]}}}
SCORING_ERRORS = error_responses(429, 503)  # queue full, model not loaded
FEED_ERRORS = error_responses(400, 413, 415, 422)  # malformed or unsafe, too large, not a feed
ModeQuery = Query("drop", description="drop: remove clickbait items; annotate: keep all, add scores")
ThresholdQuery = Query(None, ge=0, le=1, description="default: the model's threshold")
AllowQuery = Query(None, description="comma list of sites never marked clickbait (adds to the configured)")
BlockQuery = Query(None, description="comma list of sites always marked clickbait (adds to the configured)")


_FEED_CACHES: weakref.WeakKeyDictionary[object, FeedCache] = weakref.WeakKeyDictionary()


async def get_feed_cache(request: Request, settings: SettingsDep) -> FeedCache:
    """The app's cache of fetched feeds, made at first use: one per app, bounded by its settings."""
    if request.app not in _FEED_CACHES:
        _FEED_CACHES[request.app] = FeedCache.of(settings)
    return _FEED_CACHES[request.app]


FeedCacheDep = Annotated[FeedCache, Depends(get_feed_cache)]


def raw_body(*media_types: str, description: str) -> dict:
    """``openapi_extra`` for a route that reads its body itself (not JSON validated by FastAPI)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {media: {"schema": {"type": "string"}} for media in media_types},
        }
    }


def _policy(
    settings: ServiceSettings, allow: str | None, block: str | None, threshold: float | None
) -> Policy:
    return Policy.of(settings, (allow or "").split(","), (block or "").split(","), threshold)


async def _verdicts(
    request: Request,
    settings: ServiceSettings,
    scoring: ScoringService,
    items: list[FeedItem],
    policy: Policy,
    reader: str | None = None,
) -> tuple[Verdicts, Scorer]:
    """``service/feeds/decisions.py``'s decisions, the titles scored through the shared batcher
    (and ``reader``'s personal layer, where they have one)."""
    unscored = Unscored.of(items, policy)
    probs, scorer = await score_many(request, settings, scoring, unscored.titles)
    personal = await personal_answers(request, reader, scorer, unscored.titles, np.asarray(probs))
    if personal is not None:
        return unscored.decided(scorer, personal.probs, policy, shared=probs), scorer
    return unscored.decided(scorer, probs, policy), scorer


async def _filtered(
    request: Request,
    settings: ServiceSettings,
    scoring: ScoringService,
    body: bytes,
    content_type: str | None,
    mode: Mode,
    policy: Policy,
    reader: str | None,
    links: Callable[[FeedItem], LabelLinks | None] | None = None,
) -> Response:
    """The feed filtered; ``links``: each item's label links, added in annotate mode."""
    feed = await asyncio.to_thread(parse_feed, body, content_type, settings.feed_max_items)
    verdicts, scorer = await _verdicts(request, settings, scoring, feed.items, policy, reader)
    dropped = sum(verdicts.removed(mode))
    each = [links(item) for item in feed.items] if links is not None and mode == "annotate" else None
    return Response(
        feed.apply(verdicts.decisions, mode, verdicts.clickbait, verdicts.hold_unvalidated, each),
        media_type=feed.media_type,
        headers={"X-Clickbait-Model": scorer.version, "X-Clickbait-Dropped": str(dropped)},
    )


@router.post(
    "/v1/filter",
    tags=["feeds"],
    response_class=Response,
    responses={**FEED_OUT, **FEED_ERRORS, **SCORING_ERRORS},
    openapi_extra=raw_body(*FEED_TYPES, description="an RSS, Atom or JSON Feed document"),
)
async def filter_posted_feed(
    request: Request,
    settings: SettingsDep,
    scoring: ScoringDep,
    mode: Mode = ModeQuery,
    threshold: float | None = ThresholdQuery,
    allow: str | None = AllowQuery,
    block: str | None = BlockQuery,
    profile: str | None = ProfileQuery,
) -> Response:
    """Filter an RSS 2.0/1.0, Atom 1.0 or JSON Feed 1.1 body; the answer is the same format. With
    a key, the key's (or its profile's) personal layer decides too."""
    reader = reader_of(request, settings, profile)
    content_type = request.headers.get("content-type")
    media = (content_type or "").split(";")[0].strip().lower()
    if media in SIMPLE_FORM_TYPES:  # what any web page may POST cross-site without asking first
        raise ClickbaitError(
            f"send the feed as its own type (RSS, Atom, XML or JSON), not {media}",
            ErrorType.unsupported_media_type,
        )
    body = await read_body(request, settings.feed_max_bytes)
    policy = _policy(settings, allow, block, threshold)
    return await _filtered(request, settings, scoring, body, content_type, mode, policy, reader)


@router.get(
    "/v1/filter",
    tags=["feeds"],
    response_class=Response,
    responses={
        **FEED_OUT,
        304: {"description": "the reader's If-None-Match or If-Modified-Since matches: unchanged"},
        **FEED_ERRORS,
        **SCORING_ERRORS,
        **error_responses(403, 502, 504),
    },
)  # fetching off or host refused; upstream failed
async def filter_remote_feed(
    request: Request,
    settings: SettingsDep,
    scoring: ScoringDep,
    cache: FeedCacheDep,
    personal: PersonalDep,
    url: str = Query(..., description="the feed to fetch"),
    personal_token: str | None = Query(
        None,
        alias="personal",
        max_length=64,
        pattern=NO_NUL,
        description="a reader's feed token (GET /v1/personal): their personal layer decides too",
    ),
    mode: Mode = ModeQuery,
    threshold: float | None = ThresholdQuery,
    allow: str | None = AllowQuery,
    block: str | None = BlockQuery,
    profile: str | None = ProfileQuery,
) -> Response:
    """Feed proxy: subscribe a reader to this URL to get the remote feed without its clickbait.
    With a key, or a reader's feed token (``personal``), that reader's personal layer decides too;
    with the token in annotate mode, each item also links to ``GET /v1/feed-label`` to label it.
    Off unless CLICKBAIT_FEED_FETCH=1; hosts limited by CLICKBAIT_FEED_ALLOWED_HOSTS. Answers carry
    ETag and Last-Modified, and a reader's conditional GET that matches gets 304; the upstream is
    asked conditionally too (CLICKBAIT_FEED_CACHE_S)."""
    if not settings.feed_fetch:
        raise ClickbaitError(
            "fetching feeds is off; set CLICKBAIT_FEED_FETCH=1 to enable", ErrorType.feed_fetch_disabled
        )
    fetching = FetchPolicy.of(
        settings.feed_allowed_hosts, max_bytes=settings.feed_max_bytes, timeout_s=settings.feed_timeout_s
    )
    reader = await _proxy_reader(request, settings, personal, profile, personal_token)  # before any fetch
    kept = cache.get(url)
    feed = cache.keep(url, await fetch(url, fetching, kept.validators if kept else None), kept)
    policy = _policy(settings, allow, block, threshold)
    model = current_scorer(scoring).version
    # a reader's answer changes when their layer does: its fitting time is part of the validators
    fitted = await asyncio.to_thread(personal.store.fitted_at, reader) if reader else None
    layer = f"+{reader}@{fitted}" if reader else ""
    links = None
    if personal_token is not None and settings.personal_layers and mode == "annotate":
        links = label_links(request, settings, personal_token)
        layer += f"+links@{request.url_for('feed_label_page')}"  # the links are in the bytes too
    tag = entity_tag(feed.digest, model + layer, mode, policy, settings)
    if unchanged(request.headers, tag, feed.last_modified(tag)):
        return Response(status_code=304, headers={**feed.headers(tag), "X-Clickbait-Model": model})
    response = await _filtered(
        request, settings, scoring, feed.body, feed.content_type, mode, policy, reader, links
    )
    # named by the model that filtered it, should another have been promoted meanwhile
    tag = entity_tag(feed.digest, response.headers["X-Clickbait-Model"] + layer, mode, policy, settings)
    response.headers.update(feed.headers(tag))
    return response


async def _proxy_reader(
    request: Request,
    settings: ServiceSettings,
    personal: PersonalLayers,
    profile: str | None,
    token: str | None,
) -> str | None:
    """Whose layer decides a proxied feed: the reader a ``personal`` token names (a feed reader that
    can send no header), else the presented key's (``reader_of``)."""
    if token is None or not settings.personal_layers:
        return reader_of(request, settings, profile)
    return await token_reader(personal, token)


async def token_reader(personal: PersonalLayers, token: str) -> str:
    """The reader a feed token names; refused (403) when no personal layer has it."""
    reader = await asyncio.to_thread(personal.store.reader_of_token, token)
    if reader is None:
        raise ClickbaitError("no personal layer has this feed token", ErrorType.forbidden)
    return reader


def label_links(
    request: Request, settings: ServiceSettings, token: str
) -> Callable[[FeedItem], LabelLinks | None]:
    """Each item's links to label it for the reader of ``token`` (None: an item without a title):
    ``GET /v1/feed-label`` on this service with the title cut to ``CLICKBAIT_MAX_CHARS``, as
    scoring cuts it, and the host of the item's link as the source (``source_of``)."""
    page = str(request.url_for("feed_label_page"))

    def links(item: FeedItem) -> LabelLinks | None:
        headline = (item.title or "").replace("\x00", "")[: settings.max_chars]
        if not headline.strip():
            return None
        fields = {"token": token, "headline": headline}
        source = source_of(item.link)
        where = {"source": source} if source else {}
        return LabelLinks(
            *(f"{page}?{urlencode({**fields, 'label': label, **where})}" for label in ("clickbait", "news"))
        )

    return links


LABEL_WORDS = {"clickbait": "Teaser", "news": "News"}  # the labels as a reader's links name them
LABEL_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the page's address holds the reader's token
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "X-Robots-Tag": "noindex",
}
FORM_TYPE = "application/x-www-form-urlencoded"
LABEL_PAGE = {200: {"content": {"text/html": {}}, "description": "a page for a person"}}


def _label_page(title: str, body: str) -> HTMLResponse:
    """A page of its own: no script, no style, nothing fetched; ``body`` is escaped by the caller."""
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><main>{body}</main></body></html>",
        headers=LABEL_PAGE_HEADERS,
    )


async def _feed_label(settings: ServiceSettings, personal: PersonalLayers, form: FeedLabelIn) -> str:
    """The reader whose label this is, once the token names one and the headline is one."""
    reader = await token_reader(personal, form.token)
    check_headlines([form.headline], settings, limit=1)
    return reader


@router.get(
    "/v1/feed-label",
    tags=["feeds"],
    response_class=Response,
    responses={**LABEL_PAGE, **error_responses(403, 422)},
)
async def feed_label_page(
    settings: SettingsDep, personal: PersonalDep, form: Annotated[FeedLabelIn, Query()]
) -> HTMLResponse:
    """Where a proxied feed's label link leads (annotate mode with a feed token): the item, and one
    button that posts its label. It writes nothing: feed readers and mail scanners fetch links."""
    reader = await _feed_label(settings, personal, form)
    word = LABEL_WORDS[form.label]
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">'
        for name, value in (("token", form.token), ("headline", form.headline), ("label", form.label))
        + ((("source", form.source),) if form.source else ())
    )
    source = f"<p>Read at {escape(form.source)}</p>" if form.source else ""
    return _label_page(
        f"Label: {word}",
        f"<h1>Label this headline {word}?</h1><blockquote>{escape(form.headline)}</blockquote>{source}"
        f"<p>It teaches the personal filter of {escape(reader)}. Nothing is saved until you press "
        f'the button.</p><form method="post" action="feed-label">{hidden}'
        f'<button type="submit">Label it {word}</button></form>',
    )


@router.post(
    "/v1/feed-label",
    tags=["feeds"],
    response_class=Response,
    responses={**LABEL_PAGE, **error_responses(403, 413, 415, 422)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the form of GET /v1/feed-label's page",
            "content": {FORM_TYPE: {"schema": FeedLabelIn.model_json_schema()}},
        }
    },
)
async def post_feed_label(
    request: Request, settings: SettingsDep, scoring: ScoringDep, personal: PersonalDep
) -> HTMLResponse:
    """Store the label of the form (by the reader the token names, with the item's link as its
    source) and learn that reader's layer again, as ``POST /v1/labels`` does, before the answer."""
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media != FORM_TYPE:
        raise ClickbaitError(
            f"send the form as {FORM_TYPE}, not {media or 'nothing'}", ErrorType.unsupported_media_type
        )
    body = await read_body(request, settings.max_body_bytes)
    try:
        fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=8)
    except ValueError as exc:  # not UTF-8 (UnicodeDecodeError is one), or more fields than the form's
        raise ClickbaitError(f"the body is not the label form: {exc}", ErrorType.validation_error) from exc
    try:
        form = FeedLabelIn.model_validate(dict(fields))
    except ValidationError as exc:  # answered as FastAPI's own validation of the query is
        raise RequestValidationError(exc.errors()) from exc
    reader = await _feed_label(settings, personal, form)
    label = NewLabel(form.headline, form.label, None, form.source or None)
    _, _, learnt = await asyncio.to_thread(store_and_learn, personal, [label], reader, reader, scoring.scorer)
    learnt_line = (
        f"The personal filter of {escape(reader)} learnt again from its {learnt.labels} labels."
        if learnt
        else "It is kept; the personal filter learns from it with the next label."
    )
    return _label_page(
        f"Saved: {LABEL_WORDS[form.label]}",
        f"<h1>Saved: {LABEL_WORDS[form.label]}</h1><blockquote>{escape(form.headline)}</blockquote>"
        f"<p>{learnt_line}</p>",
    )


@router.post(
    "/v1/integrations/miniflux",
    tags=["integrations"],
    responses=error_responses(400, 401, 403, 404, 413, 429, 502, 503),
    openapi_extra=raw_body("application/json", description="Miniflux's signed webhook payload"),
)
async def miniflux_webhook(
    request: Request, settings: SettingsDep, scoring: ScoringDep, replays: WebhookBodiesDep
) -> dict:
    """Miniflux's webhook: score new entries' titles; mark clickbait read, or prefix its titles
    (CLICKBAIT_MINIFLUX_ACTION), with the API key of the user whose secret signed it, when set."""
    body = await read_body(request, settings.feed_max_bytes)
    signature = request.headers.get("x-miniflux-signature") or ""
    user = _signer(settings, body, signature)
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClickbaitError("the request body is not valid JSON", ErrorType.malformed_json) from exc
    payload = payload if isinstance(payload, dict) else {}
    # the signature covers the body, not the headers: the body's event type is the one that counts,
    # and a header that names another is refused rather than believed
    event = payload.get("event_type") or request.headers.get("x-miniflux-event-type")
    header = request.headers.get("x-miniflux-event-type")
    if header and payload.get("event_type") and header != payload["event_type"]:
        raise ClickbaitError(
            "X-Miniflux-Event-Type differs from the signed body's event_type", ErrorType.bad_signature
        )
    if event != "new_entries":
        return {"event": event, "ignored": True}
    if signature in replays:  # the same signed body again: acted on once already
        return {"event": event, "ignored": True, "replayed": True}
    listed = payload.get("entries") if isinstance(payload.get("entries"), list) else []
    entries = [e for e in listed if isinstance(e, dict) and isinstance(e.get("id"), int)]
    entries = [e for e in entries if not PREFIXED.match(str(e.get("title") or ""))]  # named before
    reader = miniflux_reader(user) if settings.personal_layers else None  # their Miniflux labels' layer
    verdicts, scorer = await _verdicts(
        request, settings, scoring, entry_items(entries), Policy.of(settings), reader
    )
    found, held = flagged(entries, verdicts, settings.miniflux_action)
    action = settings.miniflux_action if settings.miniflux_url and user.token else None
    if action and found:
        token = user.token.get_secret_value()
        async with Miniflux(settings.miniflux_url, token, settings.feed_timeout_s) as miniflux:
            await miniflux.act(action, found)
    replays[signature] = True
    return {
        "event": event,
        **({"user": user.name} if user.name else {}),
        "model": scorer.version,
        "scored": len(entries),
        "clickbait": [asdict(f) for f in found],
        "held": [asdict(h) for h in held],
        "action": action,
        "marked_read": bool(found) and action == "mark_read",
    }


def _signer(settings: ServiceSettings, body: bytes, signature: str) -> MinifluxUser:
    """The Miniflux user whose webhook secret signed ``body`` (X-Miniflux-Signature); refused when
    none is set up, the signature is missing, or no user's secret matches it."""
    users = [user for user in settings.miniflux_accounts if user.secret]
    if not users:
        raise ClickbaitError(
            "the Miniflux integration is not set up here: set CLICKBAIT_MINIFLUX_WEBHOOK_SECRET (or "
            "CLICKBAIT_MINIFLUX_USERS) to accept its webhooks",
            ErrorType.not_configured,
        )
    if not signature:
        raise ClickbaitError("the X-Miniflux-Signature header is missing", ErrorType.missing_signature)
    user = signed_by(body, signature, users)
    if user is None:
        raise ClickbaitError("X-Miniflux-Signature does not match the body", ErrorType.bad_signature)
    return user


@router.post(
    "/v1/page",
    tags=["pages"],
    responses=error_responses(413, 415, 429, 503),
    openapi_extra=raw_body("text/html", "application/xhtml+xml", description="the page's HTML"),
)
async def page_headlines(
    request: Request,
    settings: SettingsDep,
    scoring: ScoringDep,
    url: str | None = Query(None, description="the page's address, to resolve relative links"),
    threshold: float | None = ThresholdQuery,
    profile: str | None = ProfileQuery,
) -> dict:
    """An HTML page in; its headlines out — main headline, related links, teaser lists — scored
    (with a key, by its reader's personal layer too: ``shared_score`` is then the shared model's)."""
    reader = reader_of(request, settings, profile)
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media not in ("text/html", "application/xhtml+xml"):
        raise ClickbaitError(
            f"send the page as text/html, not {media or 'nothing'}", ErrorType.unsupported_media_type
        )
    body = await read_body(request, settings.page_max_bytes)
    # off the event loop, and refused when nested past what the parser does in linear time
    found = await asyncio.to_thread(_page_headlines, body.decode("utf-8", errors="replace"), url)
    texts = [h.headline for h in found]
    shared, scorer = await score_many(request, settings, scoring, texts)
    personal = await personal_answers(request, reader, scorer, texts, np.asarray(shared))
    probs = shared if personal is None else [float(p) for p in personal.probs]
    cut = decision_threshold(scorer.threshold, threshold)
    return {
        "model": scorer.version,
        "threshold": cut,
        "headlines": [
            {
                "headline": h.headline,
                "role": h.role,
                "link": h.link,
                "site": h.site,
                "score": float(p),
                "label": scorer.label(p, cut),
                **({} if personal is None else {"shared_score": float(before)}),
                **({"decided_by": "personal"} if (p >= cut) != (before >= cut) else {}),
            }
            for h, p, before in zip(found, probs, shared, strict=True)
        ],
    }


SIMPLE_FORM_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")


def _page_headlines(html: str, url: str | None) -> list[PageHeadline]:
    tags = html.count("<")  # at C speed: no page is walked tag by tag past this bound
    if tags > MAX_TAGS:
        raise ClickbaitError(
            f"the page has {tags} tags; pages of more than {MAX_TAGS} are refused", ErrorType.page_too_deep
        )
    depth = deepest_nesting(html)
    if depth > MAX_DEPTH:
        raise ClickbaitError(
            f"the page nests its elements {depth} deep; pages deeper than {MAX_DEPTH} are refused",
            ErrorType.page_too_deep,
        )
    return extract_headlines(html, url)


def _rules_path(settings: ServiceSettings) -> Path:
    if settings.rules_file is None:
        raise ClickbaitError(
            "no rules file is set up here: set CLICKBAIT_RULES_FILE to edit it", ErrorType.not_configured
        )
    return settings.rules_file


@router.get(
    "/v1/rules",
    tags=["feeds"],
    response_class=Response,
    dependencies=[Depends(require_reader)],
    responses={200: {"content": {"text/plain": {}}}, **error_responses(401, 403, 404)},
)
async def read_rules_file(settings: SettingsDep) -> Response:
    """The rules file as it is now (docs/feeds.md, 'Rules'); empty when it does not exist yet."""
    path = _rules_path(settings)
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except FileNotFoundError:
        text = ""
    return Response(text, media_type="text/plain; charset=utf-8")


@router.put(
    "/v1/rules",
    tags=["feeds"],
    dependencies=[Depends(require_admin)],
    responses=error_responses(401, 403, 404, 413, 415, 422),
    openapi_extra=raw_body("text/plain", description="the whole rules file"),
)
async def write_rules_file(request: Request, settings: SettingsDep) -> dict:
    """Replace the rules file with the body: checked first, a bad line refused (422 ``bad_rules``,
    naming the line) and nothing written; then written whole, so no filter reads half a file."""
    path = _rules_path(settings)
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media != "text/plain":
        raise ClickbaitError(
            f"send the rules as text/plain, not {media or 'nothing'}", ErrorType.unsupported_media_type
        )
    body = await read_body(request, settings.feed_max_bytes)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RuleError(path.name, body[: exc.start].count(b"\n") + 1, "the body is not UTF-8") from exc
    rules = Rules.parse(text, path.name)
    await asyncio.to_thread(replace_rules, path, text)
    return {"rules": len(rules.rules), "digest": rules.digest}
