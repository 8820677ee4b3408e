/* The only part of the extension that talks to the network, and only to the configured service.
   Pages never reach it: their content script asks here, so the extension's host permissions (not
   the page's CORS) govern the calls, the key never enters a page, and what leaves the browser is
   exactly what these handlers send: headline texts, and for a correction the page's host. It also
   keeps the reader's corrections (storage.local), with no service set learns their personal layer
   from them (local-scoring.js; it stays in the browser), and gives links their context-menu
   entries. */
"use strict";

// Chromium's service worker loads its scripts here; Firefox's background page, from the manifest
// the build derives from this line (service/cli/extension_build.py).
if (typeof importScripts === "function") importScripts("browser.js", "settings.js", "local-personal.js", "local-scoring.js");

const TIMEOUT_MS = 15000;
const RULED = /^(rule|site):/; // a result's decided_by when a rule or a site list decided, not the model

class ServiceError extends Error {
  /** ``unreachable``: no answer at all (down, or too slow), as opposed to a refusal. */
  constructor(message, { needsKey = false, unreachable = false } = {}) {
    super(message);
    this.needsKey = needsKey;
    this.unreachable = unreachable;
  }
}

/** One call to the service; its JSON answer, or a ServiceError that says why in words. */
async function callService(path, { body, key } = {}) {
  const { serviceUrl } = await loadSettings();
  if (FIREFOX && !(await ext.permissions.contains({ data_collection: DATA_SENT_TO_SERVICE }))) {
    throw new ServiceError(t("errorNoConsent"));
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(serviceUrl + path, {
      method: body === undefined ? "GET" : "POST",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", // no cookies of the service's site
      referrerPolicy: "no-referrer",
      cache: "no-store",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new ServiceError(
      error.name === "TimeoutError" ? t("errorTimeout", serviceUrl, TIMEOUT_MS / 1000) : t("errorUnreachable", serviceUrl),
      { unreachable: true },
    );
  }
  const answer = await response.json().catch(() => null);
  if (response.ok && answer) return answer;
  const reason = answer?.error || `HTTP ${response.status}`;
  if (response.status === 503) throw new ServiceError(t("errorNotReady", reason));
  if (response.status === 401 || response.status === 403) throw new ServiceError(t("errorKey", reason), { needsKey: true });
  throw new ServiceError(t("errorHttp", response.status, reason));
}

const namesLanguages = new Map(); // model version -> whether /info lists validated languages for it

/** Whether the served model names the languages it was validated in (older models name none, and
    then no headline is held back as unvalidated); asked of /info once per model version. */
async function claimsLanguages(model) {
  if (!namesLanguages.has(model)) {
    const info = await callService("/info");
    namesLanguages.set(info.model, Object.keys(info.languages ?? {}).length > 0);
    if (info.model !== model) return false; // swapped meanwhile: asked again with the next batch
  }
  return namesLanguages.get(model);
}

/** A random name for this browser profile, made once: the "who" of its corrections, which never
    leaves the browser (the service names a label's author by the key that sent it). */
async function profileName() {
  const { profile } = await ext.storage.local.get("profile");
  if (profile) return profile;
  const made = `extension:${crypto.randomUUID()}`;
  await ext.storage.local.set({ profile: made });
  return made;
}

let keeping = Promise.resolve(); // one read-modify-write of the corrections at a time

/** Keeps a correction, replacing the reader's earlier one of the same headline on the same host. */
function keepCorrection({ headline, label, where, sent = false, at = new Date().toISOString() }) {
  keeping = keeping.catch(() => null).then(async () => {
    const record = { headline, label, who: await profileName(), where, at, sent };
    const { corrections } = await ext.storage.local.get({ corrections: [] });
    const same = (c) => c.where === where && c.headline.toLowerCase() === headline.toLowerCase();
    await ext.storage.local.set({ corrections: [...corrections.filter((c) => !same(c)), record] });
    return record;
  });
  return keeping;
}

const MAX_PENDING = 1000; // labels one request may carry (the service's limit)

/** The corrections kept while no service or key was set, sent now that both are; those the service
    refuses stay kept, to be tried with the next correction. */
async function sendPending(key) {
  const { corrections } = await ext.storage.local.get({ corrections: [] });
  const pending = corrections.filter((c) => !c.sent).slice(0, MAX_PENDING);
  if (!pending.length) return;
  const labels = pending.map((c) => ({ headline: c.headline, label: c.label, source: c.where }));
  try {
    await callService("/v1/labels", { body: { labels }, key });
  } catch {
    return;
  }
  for (const correction of pending) await keepCorrection({ ...correction, sent: true });
}

const HANDLERS = {
  /** Scores of a batch of headlines, the model's threshold, and which are in a language the model
      was not validated on. */
  async score({ headlines, links }) {
    const { serviceUrl } = await loadSettings();
    if (!serviceUrl) return { ...(await scoreLocally(headlines)), scorer: "local" }; // nothing leaves the browser
    let answer;
    try {
      // the service's rules file and site lists decide first, as its feed filter does (links: for
      // its site and path rules); the model in the browser has no rules
      const rules = Array.isArray(links) && links.length === headlines.length;
      answer = await callService("/v1/score", { body: rules ? { headlines, rules, links } : { headlines } });
    } catch (error) {
      // a service that does not answer: the model in the browser scores, and says so (a refusal,
      // such as a wrong key, stays an error for the reader to fix)
      if (!error.unreachable) throw error;
      return { ...(await scoreLocally(headlines)), scorer: "local", note: error.message };
    }
    const claims = await claimsLanguages(answer.model);
    return {
      threshold: answer.threshold,
      scores: answer.results.map((result) => result.score),
      unvalidated: answer.results.map((result) => claims && result.validated === false),
      langs: answer.results.map((result) => result.lang ?? null),
      kinds: answer.results.map((result) => ({ bait: result.bait ?? null, tabloid: result.tabloid ?? null })),
      decided: answer.results.map((result) => (RULED.test(result.decided_by ?? "") ? { label: result.label, by: result.decided_by } : null)),
      // what the reader's layer at the service did, as the local one says it
      personal: answer.results.map((result) => (result.personal ? { shared_score: result.personal.shared_score, changed: result.personal.changed } : null)),
      decided_by: answer.results.map((result) => result.decided_by ?? null),
      scorer: "service",
    };
  },

  /** One headline's score and the words that moved it, strongest push towards clickbait first. */
  async explain({ headline }) {
    const answer = await callService("/v1/explain", { body: { headline } });
    const [result] = answer.results;
    return { score: result.score, words: result.words.toSorted((a, b) => b.contribution - a.contribution) };
  },

  /** A reader's correction: kept in this browser (storage.local), and where a service and its key
      are set, sent to it as a label whose source is the host of the page it came from; with no
      service, the reader's layer learns from it here. */
  async label({ headline, label }, sender) {
    const where = new URL(sender.tab.url).hostname;
    const record = await keepCorrection({ headline, label, where });
    const { serviceUrl, apiKey } = await loadSettings(["serviceUrl", "apiKey"]);
    const name = t(label === "news" ? "labelNews" : "labelTeaser");
    if (!serviceUrl) {
      const learnt = await learnPersonal().catch(() => null); // the page's answers follow (storage)
      return { note: learnt ? `${t("noteKept", name)} ${t("notePersonal", learnt.labels)}` : t("noteKept", name) };
    }
    if (!apiKey) return { note: t("noteNeedsKey", name), needsKey: true };
    try {
      const answer = await callService("/v1/labels", { body: { labels: [{ headline, label, source: where }] }, key: apiKey });
      await keepCorrection({ ...record, sent: true });
      await sendPending(apiKey);
      return { note: t("noteSent", name, where), added: answer.added, conflicts: answer.conflicts.length };
    } catch (error) {
      return { note: t("noteNotSent", name, error.message), needsKey: Boolean(error.needsKey) };
    }
  },

  /** This page's host's earlier corrections, by lower-cased headline (no other host's). */
  async corrections(_message, sender) {
    const where = new URL(sender.tab.url).hostname;
    const { corrections } = await ext.storage.local.get({ corrections: [] });
    return { corrections: Object.fromEntries(corrections.filter((c) => c.where === where).map((c) => [c.headline.toLowerCase(), c.label])) };
  },

  /** The options page's "Forget my labels": the corrections kept here and the layer they taught
      (a service keeps what it was sent). */
  async forget() {
    keeping = keeping.catch(() => null).then(() => ext.storage.local.remove("corrections"));
    await keeping;
    await dropPersonal();
    return { forgotten: true };
  },

  /** The service's state for the popup: reachable, ready, which model, its threshold. */
  async info() {
    const { serviceUrl } = await loadSettings();
    if (!serviceUrl) {
      const model = await (await fetch(ext.runtime.getURL("model/model.json"))).json();
      return { serviceUrl, scorer: "local", ready: true, model: model.version, threshold: model.threshold };
    }
    const answer = await callService("/info");
    return { serviceUrl, scorer: "service", ready: answer.ready, model: answer.model, threshold: answer.threshold };
  },
};

const EXTENSION_PAGES_ONLY = new Set(["forget"]); // never a page's content script

ext.runtime.onMessage.addListener((message, sender, reply) => {
  const handler = HANDLERS[message?.type];
  if (!handler || sender.id !== ext.runtime.id) return false;
  if (EXTENSION_PAGES_ONLY.has(message.type)) {
    if (!sender.url?.startsWith(ext.runtime.getURL(""))) return false;
  } else if (message.type !== "info" && !sender.tab) return false; // page requests come from content scripts
  handler(message, sender).then(reply, (error) => reply({ error: error.message, needsKey: Boolean(error.needsKey) }));
  return true; // the reply comes later
});

// The reader's layer learnt again when they turn it back on, or leave their service for the local
// model (labels kept meanwhile are learnt from then).
ext.storage.onChanged.addListener((changes, area) => {
  if (area !== "local") return;
  const on = changes.personalLayer?.newValue === true;
  const local = changes.serviceUrl && !changes.serviceUrl.newValue;
  if (on || local) loadSettings(["serviceUrl"]).then(({ serviceUrl }) => !serviceUrl && learnPersonal().catch(() => null));
});

// A new reader meets the options page first: what is sent where (nothing, until a service is set).
ext.runtime.onInstalled.addListener(({ reason }) => reason === "install" && ext.runtime.openOptionsPage());

// Any link's context menu: the reader's label for it, flagged or missed; the page's content script
// knows which link and its headline text, and sends the label on through the `label` handler.
const MENU = { "clickbait-teaser": "clickbait", "clickbait-news": "news" };
ext.runtime.onInstalled.addListener(() => {
  ext.contextMenus.create({ id: "clickbait-teaser", title: t("menuTeaser"), contexts: ["link"] });
  ext.contextMenus.create({ id: "clickbait-news", title: t("menuNews"), contexts: ["link"] });
});
function labelFromMenu(info, tab) {
  if (!MENU[info.menuItemId] || !tab?.id) return;
  ext.tabs.sendMessage(tab.id, { type: "contextLabel", label: MENU[info.menuItemId] }, { frameId: info.frameId ?? 0 }).catch(() => null);
}
ext.contextMenus.onClicked.addListener(labelFromMenu);
