/* The extension's settings, declared once for every part of it (service worker, content script,
   popup, options page). They live in ext.storage.local, never .sync: the key must not travel
   to other browsers through the user's account. */
"use strict";

const DEFAULT_SETTINGS = Object.freeze({
  serviceUrl: "", // none: the model in the browser scores; else the reader's own `clickbait serve`
  apiKey: "", // an admin key of that service: needed to store corrections as labels
  threshold: null, // null: the model's own threshold (/info); else 0..1 set in the popup
  maxRequestsPerPage: 20, // scoring requests one page may send, at most (infinite scroll included)
  disabledSites: [], // hosts the reader switched off in the popup
  onlyListedSites: false, // opt-in: handle teasers only on the hosts of listedSites
  listedSites: [], // hosts the reader switched on (the popup) or listed (the options page)
  mode: "dim", // what a teaser gets: "dim", "blur", or "hide" (with a small "show" marker)
  dimUnvalidated: false, // also dim clickbait in a language the model was not validated on
  personalLayer: true, // no service set: the reader's labels kept here teach a layer of their own (local-personal.js)
});

/* What a page's content script may hold: never the key nor where the service is (a compromised
   page renderer reads whatever its content scripts hold). */
const PAGE_SETTINGS = Object.freeze([
  "threshold",
  "maxRequestsPerPage",
  "disabledSites",
  "onlyListedSites",
  "listedSites",
  "mode",
  "dimUnvalidated",
]);
const MODES = Object.freeze(["dim", "blur", "hide"]);

/** Whether the extension handles the pages of ``host`` under ``settings``. */
function siteEnabled(settings, host) {
  return settings.onlyListedSites ? settings.listedSites.includes(host) : !settings.disabledSites.includes(host);
}

/** The settings change that switches ``host`` on or off, in whichever list the mode reads. */
function siteSwitch(settings, host, on) {
  const name = settings.onlyListedSites ? "listedSites" : "disabledSites";
  const others = settings[name].filter((site) => site !== host);
  return { [name]: on === settings.onlyListedSites ? [...others, host] : others };
}

/** The stored settings, each missing one at its default (``names``: only those). */
async function loadSettings(names = Object.keys(DEFAULT_SETTINGS)) {
  return ext.storage.local.get(Object.fromEntries(names.map((name) => [name, DEFAULT_SETTINGS[name]])));
}

// What a service is sent, in Firefox's data-collection terms: headline texts (website content) and,
// with a correction, the page's host (browsing activity). The manifest declares them optional;
// the options page asks for them when a service is saved, and nothing is sent without them.
const DATA_SENT_TO_SERVICE = Object.freeze(["websiteContent", "browsingActivity"]);
const FIREFOX = Boolean(ext.runtime.getManifest().browser_specific_settings?.gecko);

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** A service address as the options page stores it: https, or http on this machine only (plain
    http elsewhere would carry the key and the headlines in the clear), no trailing slash; null if
    unusable. */
function normaliseServiceUrl(text) {
  try {
    const url = new URL(text.trim());
    const local = url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
    if (url.protocol !== "https:" && !local) return null;
    return (url.origin + url.pathname).replace(/\/+$/, "");
  } catch {
    return null;
  }
}
