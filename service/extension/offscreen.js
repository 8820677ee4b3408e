/* The local model in Chromium's offscreen document: loaded once, on the first request, and kept while
   the document lives; answers the service worker's messages addressed to it (local-scoring.js). */
import { LocalModel } from "./local-model.js";

let model = null;

chrome.runtime.onMessage.addListener((message, sender, reply) => {
  if (message?.target !== "offscreen" || sender.id !== chrome.runtime.id) return false;
  model ??= LocalModel.load();
  model.then((loaded) => loaded.score(message.headlines)).then(reply, (error) => {
    model = null; // a failed load is tried again with the next request
    reply({ error: `The local model failed: ${error.message}` });
  });
  return true; // the reply comes later
});
