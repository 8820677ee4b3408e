/* Scoring in the browser, with no service (local-model.js runs the model and detects each
   headline's language as the service does): where the model lives. Chromium's service worker can
   neither import ES modules nor keep a model between its wakes, so the model lives in an offscreen
   document (offscreen.html); Firefox's background page imports it itself.
   And the reader's personal layer (local-personal.js), learnt here from the labels kept in this
   browser: each labelled headline's pooled vector and shared score are kept beside the labels
   (storage.local `personalVectors`, by headline), so that a refit runs the model over new labels
   only; the fitted layer (`personal`) goes with each scoring message to where the model runs, and
   is applied there while the reader leaves it on (the options page). Nothing of it leaves the
   browser. */
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

/** The local model's answer for ``headlines``: LocalModel.score's shape, the reader's layer applied
    (``personal``: false, the shared scores alone), with their pooled ``vectors`` if asked. */
async function scoreLocally(headlines, { vectors = false, personal = true } = {}) {
  const message = { headlines, vectors, layer: personal ? await personalLayer() : null };
  let answer;
  if (ext.offscreen) {
    await offscreenDocument();
    answer = await ext.runtime.sendMessage({ target: "offscreen", ...message });
    if (answer?.error) throw new Error(answer.error);
  } else {
    firefoxModel ??= import(ext.runtime.getURL("local-model.js")).then(({ LocalModel }) => LocalModel.load());
    let model;
    try {
      model = await firefoxModel;
    } catch (error) {
      firefoxModel = null;
      throw error;
    }
    answer = await LocalPersonal.answer(model, message);
  }
  if (answer.personalStale) learnPersonal().catch(() => null); // fitted over another model: again
  return answer;
}

const extensionFiles = new Map(); // path -> promise of its JSON: the build's files do not change

/** One of the extension's own JSON files (model/model.json, personal.json). */
function extensionJson(path) {
  if (!extensionFiles.has(path)) {
    const read = fetch(ext.runtime.getURL(path)).then((response) => response.json());
    extensionFiles.set(path, read.catch((error) => (extensionFiles.delete(path), Promise.reject(error))));
  }
  return extensionFiles.get(path);
}

/** The reader's layer, if they have one and leave it on. */
async function personalLayer() {
  const { personalLayer: on, personal } = await ext.storage.local.get({ personalLayer: DEFAULT_SETTINGS.personalLayer, personal: null });
  return on ? personal : null;
}

let learning = Promise.resolve(); // one fit (or removal) at a time

/** The reader's layer learnt again from their newest labels kept here (none: removed), if they
    leave it on; what was learnt: {labels, seconds}, or null. */
function learnPersonal() {
  learning = learning.catch(() => null).then(fitPersonal);
  return learning;
}

/** The layer and the labelled headlines' vectors removed (the reader's labels were forgotten). */
function dropPersonal() {
  learning = learning.catch(() => null).then(() => ext.storage.local.remove(["personal", "personalVectors"]));
  return learning;
}

const VECTOR_BATCH = 32; // labelled headlines per pass of the model

async function fitPersonal() {
  const stored = await ext.storage.local.get({ personalLayer: DEFAULT_SETTINGS.personalLayer, corrections: [], personalVectors: {} });
  if (!stored.personalLayer) return null;
  const [settings, model] = await Promise.all([extensionJson("personal.json"), extensionJson("model/model.json")]);
  const rows = stored.corrections.slice(-settings.max_labels); // the newest
  if (!rows.length) {
    await ext.storage.local.remove(["personal", "personalVectors"]);
    return null;
  }
  const started = performance.now();
  // the labelled headlines' shared scores and vectors: those of this model kept, the others found
  const kept = new Map();
  for (const { headline } of rows) {
    const known = Object.hasOwn(stored.personalVectors, headline) ? stored.personalVectors[headline] : null;
    if (known?.model === model.version) kept.set(headline, known);
  }
  const todo = [...new Set(rows.map((row) => row.headline))].filter((headline) => !kept.has(headline));
  for (let start = 0; start < todo.length; start += VECTOR_BATCH) {
    const batch = todo.slice(start, start + VECTOR_BATCH);
    const answer = await scoreLocally(batch, { vectors: true, personal: false });
    batch.forEach((headline, i) => {
      kept.set(headline, { model: answer.model, score: answer.scores[i], vector: LocalPersonal.pack(answer.vectors[i]) });
    });
  }
  const found = rows.map((row) => kept.get(row.headline));
  const layer = LocalPersonal.fit(
    {
      model: model.version,
      vectors: found.map((known) => LocalPersonal.unpack(known.vector)),
      probs: found.map((known) => known.score),
      labels: rows.map((row) => (row.label === "clickbait" ? 1 : 0)),
      headlines: rows.map((row) => row.headline),
      threshold: model.threshold,
    },
    settings,
  );
  const seconds = (performance.now() - started) / 1000;
  const fitted = { ...layer, fitted_at: new Date().toISOString(), seconds };
  await ext.storage.local.set({ personal: fitted, personalVectors: Object.fromEntries(kept) });
  return { labels: rows.length, seconds };
}
