/* The local model in Chromium's offscreen document: loaded once, on the first request, and kept while
   the document lives; answers the service worker's messages addressed to it (local-scoring.js), with
   the reader's personal layer applied where the message brings one (LocalPersonal, loaded before
   this module by offscreen.html). */
import { LocalModel } from "./local-model.js";

let model = null;

chrome.runtime.onMessage.addListener((message, sender, reply) => {
  if (message?.target !== "offscreen" || sender.id !== chrome.runtime.id) return false;
  model ??= LocalModel.load();
  const loaded = model.catch((error) => {
    model = null; // a failed load is tried again with the next request
    throw error;
  });
  loaded
    .then((ready) => LocalPersonal.answer(ready, message))
    .then(reply, (error) => reply({ error: `The local model failed: ${error.message}` }));
  return true; // the reply comes later
});
