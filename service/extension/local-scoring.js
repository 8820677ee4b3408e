/* Scoring in the browser, with no service (local-model.js runs the model and detects each
   headline's language as the service does): where the model lives. Chromium's service worker can
   neither import ES modules nor keep a model between its wakes, so the model lives in an offscreen
   document (offscreen.html); Firefox's background page imports it itself. */
"use strict";

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
  if (ext.offscreen) {
    await offscreenDocument();
    const answer = await ext.runtime.sendMessage({ target: "offscreen", headlines });
    if (answer?.error) throw new Error(answer.error);
    return answer;
  }
  firefoxModel ??= import(ext.runtime.getURL("local-model.js")).then(({ LocalModel }) => LocalModel.load());
  try {
    return await (await firefoxModel).score(headlines);
  } catch (error) {
    firefoxModel = null;
    throw error;
  }
}
