/* Scoring in the browser, with no service (local-model.js runs the model): where the model lives and
   each headline's language. Chromium's service worker cannot import ES modules or keep a model
   between wakes, so the model lives in an offscreen document (offscreen.html); Firefox's background
   page imports it itself. Languages come from the browser's own detector (chrome.i18n), which the
   offscreen document has no access to: the service detects with py3langid instead, so the two may
   name a different language (docs/results/2026-12-06-extension-local-model.md); a language only
   moves the score within its side of the threshold and says whether the model was validated in it. */
"use strict";

const SAME_LANGUAGE = { ms: "id" }; // classifier/language.py's SAME_AS: Malay read as Indonesian

/** An ISO 639-1 code for ``text`` as the service names languages ("und" when none is found). */
async function detectLanguage(text) {
  if (!/\p{L}/u.test(text)) return "und";
  const found = await ext.i18n.detectLanguage(text);
  const code = found?.languages?.[0]?.language?.split("-")[0].toLowerCase();
  return code ? (SAME_LANGUAGE[code] ?? code) : "und";
}

let opening = null; // the offscreen document being created, if it is

async function offscreenDocument() {
  if ((await ext.runtime.getContexts?.({ contextTypes: ["OFFSCREEN_DOCUMENT"] }))?.length) return;
  opening ??= ext.offscreen
    .createDocument({
      url: "offscreen.html",
      reasons: ["WORKERS"],
      justification: "Runs the clickbait model (WebAssembly) on the headlines of the pages the reader opens",
    })
    .catch((error) => {
      if (!/single offscreen/i.test(error.message)) throw error; // opened meanwhile: fine
    })
    .finally(() => (opening = null));
  await opening;
}

let firefoxModel = null; // Firefox: the model, loaded once in this background page

/** The local model's answer for ``headlines``: LocalModel.score's shape. */
async function scoreLocally(headlines) {
  const langs = await Promise.all(headlines.map(detectLanguage));
  if (ext.offscreen) {
    await offscreenDocument();
    const answer = await ext.runtime.sendMessage({ target: "offscreen", headlines, langs });
    if (answer?.error) throw new Error(answer.error);
    return answer;
  }
  firefoxModel ??= import(ext.runtime.getURL("local-model.js")).then(({ LocalModel }) => LocalModel.load());
  try {
    return await (await firefoxModel).score(headlines, langs);
  } catch (error) {
    firefoxModel = null;
    throw error;
  }
}
