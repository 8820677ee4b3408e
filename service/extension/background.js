/* The only part of the extension that talks to the network, and only to the configured service.
   Pages never reach it: their content script asks here, so the extension's host permissions (not
   the page's CORS) govern the calls, the key never enters a page, and what leaves the browser is
   exactly what these handlers send: headline texts, and for a correction the page's host. */
"use strict";

// Chromium's service worker loads its scripts here; Firefox's background page, from the manifest
// the build derives from this line (service/cli/extension_build.py).
if (typeof importScripts === "function") importScripts("browser.js", "settings.js");

const TIMEOUT_MS = 15000;

class ServiceError extends Error {
  constructor(message, { needsKey = false } = {}) {
    super(message);
    this.needsKey = needsKey;
  }
}

/** One call to the service; its JSON answer, or a ServiceError that says why in words. */
async function callService(path, { body, key } = {}) {
  const { serviceUrl } = await loadSettings();
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
    const why = error.name === "TimeoutError" ? `did not answer within ${TIMEOUT_MS / 1000} s` : "is not reachable";
    throw new ServiceError(`The clickbait service at ${serviceUrl} ${why}. Is \`clickbait serve\` running there?`);
  }
  const answer = await response.json().catch(() => null);
  if (response.ok && answer) return answer;
  const reason = answer?.error || `HTTP ${response.status}`;
  if (response.status === 503) throw new ServiceError(`The clickbait service is not ready: ${reason}.`);
  if (response.status === 401 || response.status === 403) {
    throw new ServiceError(`The service refused the key: ${reason}. Set a valid key in the extension's options.`, {
      needsKey: true,
    });
  }
  throw new ServiceError(`The clickbait service answered ${response.status}: ${reason}.`);
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

const HANDLERS = {
  /** Scores of a batch of headlines, the model's threshold, and which are in a language the model
      was not validated on. */
  async score({ headlines }) {
    const answer = await callService("/v1/score", { body: { headlines } });
    const claims = await claimsLanguages(answer.model);
    return {
      threshold: answer.threshold,
      scores: answer.results.map((result) => result.score),
      unvalidated: answer.results.map((result) => claims && result.validated === false),
      langs: answer.results.map((result) => result.lang ?? null),
    };
  },

  /** One headline's score and the words that moved it, strongest push towards clickbait first. */
  async explain({ headline }) {
    const answer = await callService("/v1/explain", { body: { headline } });
    const [result] = answer.results;
    return { score: result.score, words: result.words.toSorted((a, b) => b.contribution - a.contribution) };
  },

  /** A reader's correction, stored as a label whose source is the host of the page it came from. */
  async label({ headline, label }, sender) {
    const { apiKey } = await loadSettings();
    if (!apiKey) {
      throw new ServiceError("Not stored: corrections need the service's admin key. Set one in the extension's options.", {
        needsKey: true,
      });
    }
    const source = new URL(sender.tab.url).hostname;
    const answer = await callService("/v1/labels", { body: { labels: [{ headline, label, source }] }, key: apiKey });
    return { added: answer.added, conflicts: answer.conflicts.length };
  },

  /** The service's state for the popup: reachable, ready, which model, its threshold. */
  async info() {
    const { serviceUrl } = await loadSettings();
    const answer = await callService("/info");
    return { serviceUrl, ready: answer.ready, model: answer.model, threshold: answer.threshold };
  },
};

ext.runtime.onMessage.addListener((message, sender, reply) => {
  const handler = HANDLERS[message?.type];
  if (!handler || sender.id !== ext.runtime.id) return false;
  if (message.type !== "info" && !sender.tab) return false; // page requests come from content scripts
  handler(message, sender).then(reply, (error) => reply({ error: error.message, needsKey: Boolean(error.needsKey) }));
  return true; // the reply comes later
});

// A new reader meets the options page first: what is sent where (nothing, until a service is set).
ext.runtime.onInstalled.addListener(({ reason }) => reason === "install" && ext.runtime.openOptionsPage());
