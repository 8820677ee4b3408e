/* One name for the extension API in both browsers: Firefox's promise-based `browser`, else
   Chromium's `chrome` (promise-based too under Manifest V3); and the reader's language for every
   word the extension shows (_locales/LANG/messages.json). Loaded first by every part. */
"use strict";

const ext = globalThis.browser ?? globalThis.chrome;

/** The message ``name`` in the browser's language (English where it has none), ``subs`` put in. */
function t(name, ...subs) {
  return ext.i18n.getMessage(name, subs.map(String));
}

/** An extension page's words: each element's ``data-i18n`` message as its text, and
    ``data-i18n-ATTR`` messages as those attributes. */
function localise(root = document) {
  document.documentElement.lang = ext.i18n.getUILanguage();
  for (const element of root.querySelectorAll("*")) {
    for (const [key, name] of Object.entries(element.dataset)) {
      if (key === "i18n") element.textContent = t(name);
      else if (key.startsWith("i18n")) element.setAttribute(key.slice(4).toLowerCase(), t(name));
    }
  }
}
