/* The extension's settings, declared once for every part of it (service worker, content script,
   popup, options page). They live in chrome.storage.local, never .sync: the key must not travel
   to other browsers through the user's account. */
"use strict";

const DEFAULT_SETTINGS = Object.freeze({
  serviceUrl: "http://127.0.0.1:8000", // the user's own `clickbait serve`
  apiKey: "", // an admin key of that service: needed to store corrections as labels
  threshold: null, // null: the model's own threshold (/info); else 0..1 set in the popup
  maxRequestsPerPage: 20, // scoring requests one page may send, at most (infinite scroll included)
  disabledSites: [], // hosts the reader switched off in the popup
  dimUnvalidated: false, // also dim clickbait in a language the model was not validated on
});

/** The stored settings, each missing one at its default. */
async function loadSettings() {
  return chrome.storage.local.get(DEFAULT_SETTINGS);
}

/** A service address as the options page stores it: http(s), no trailing slash; null if unusable. */
function normaliseServiceUrl(text) {
  try {
    const url = new URL(text.trim());
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    return (url.origin + url.pathname).replace(/\/+$/, "");
  } catch {
    return null;
  }
}
