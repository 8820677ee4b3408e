/* The default model, run in the browser with no service: onnxruntime-web's WebAssembly build runs
   the int8 encoder graph, @huggingface/tokenizers the Unigram tokenizer over the pieces the
   extension keeps, and this module what surrounds them as the service's Scorer does (classifier/
   scorer.py): the "query: " prefix, the embedding rows, length-sorted batches, mean pooling, the
   heads, the teaser score raised to its kinds', the temperature and the language's correction.
   Written by `clickbait extension --out` beside the files it reads (service/extension_model.py). An
   ES module: Chromium's offscreen document imports it, Firefox's background page with import(). */

import * as ort from "./vendor/ort/ort.wasm.min.mjs";
import { Tokenizer } from "./vendor/tokenizers/tokenizers.min.mjs";

// Python's str.split() whitespace, which the service's normalise_headline collapses
const WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
const BOS = 0;
const EOS = 2;

/** The service's normalise_headline: NFKC, whitespace runs as one space, ends stripped. */
export function normaliseHeadline(text) {
  return text
    .normalize("NFKC")
    .split(WHITESPACE)
    .filter((word) => word)
    .join(" ");
}

const sigmoid = (x) => 1 / (1 + Math.exp(-x));

function logit(p) {
  const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return Math.log(q / (1 - q));
}

/** An IEEE half-precision number's value (the 4-bit blocks' scales). */
function half(bits) {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function defaultThreads() {
  return globalThis.crossOriginIsolated ? Math.min(navigator.hardwareConcurrency || 1, 4) : 1;
}

/** py3langid as the service runs it (classifier/language.py: restricted to its languages), ported:
    its automaton as the strings of its states (a transition goes to the longest suffix of the bytes
    read that is a state; a state may name a feature), and its naive-Bayes table, each feature's row
    in 8 bits (service/extension_model.py's _languages says how). */
class LanguageDetector {
  constructor(buffer, description) {
    const { states, features, classes } = description;
    this.description = description;
    let at = 0;
    const take = (Type, count) => {
      const view = new Type(buffer, at, count);
      at += view.byteLength;
      return view;
    };
    this.output = take(Int32Array, states);
    this.low = take(Float32Array, features);
    this.step = take(Float32Array, features);
    const lengths = take(Uint8Array, states);
    this.nodes = new Map();
    for (let state = 0; state < states; state++) {
      const bytes = take(Uint8Array, lengths[state]);
      this.nodes.set(String.fromCharCode(...bytes), state);
    }
    this.codes = take(Uint8Array, features * classes.length);
    this.encoder = new TextEncoder();
  }

  /** An ISO 639-1 code for ``text`` as classifier/language.py's detect_language names it. */
  detect(text) {
    if (!/\p{L}/u.test(text)) return "und";
    const { classes, prior, same_as: sameAs } = this.description;
    // py3langid's own preparation: an all-capitals text lower-cased, NFC, its UTF-8 bytes
    const upper = text === text.toUpperCase() && text !== text.toLowerCase();
    const bytes = this.encoder.encode((upper ? text.toLowerCase() : text).normalize("NFC"));
    const counts = new Map();
    let node = "";
    for (const byte of bytes) {
      node += String.fromCharCode(byte);
      while (!this.nodes.has(node)) node = node.slice(1);
      const feature = this.output[this.nodes.get(node)];
      if (feature >= 0) counts.set(feature, (counts.get(feature) ?? 0) + 1);
    }
    let best = 0; // no feature at all: py3langid's scores are all equal, and its first class wins
    if (counts.size) {
      const scores = Float64Array.from(prior);
      for (const [feature, count] of counts) {
        const weight = Math.log1p(count);
        const row = feature * classes.length;
        for (let k = 0; k < classes.length; k++) {
          scores[k] += weight * (this.codes[row + k] * this.step[feature] + this.low[feature]);
        }
      }
      scores.forEach((score, k) => (best = score > scores[best] ? k : best));
    }
    return sameAs[classes[best]] ?? classes[best];
  }
}

export class LocalModel {
  /** Loads the model files under ``base`` (the extension's root) once; ``threads``: WebAssembly
      threads, one per core where the page is cross-origin isolated (Chromium's extension pages, by
      the manifest), else 1 (threads need shared memory). */
  static async load(base = new URL("./", import.meta.url), { threads = defaultThreads() } = {}) {
    const file = (name) => fetch(new URL(name, base));
    ort.env.wasm.wasmPaths = new URL("vendor/ort/", base).href;
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    const [config, tokenizer, embeddings, languages, session] = await Promise.all([
      file("model/model.json").then((r) => r.json()),
      file("model/tokenizer.json").then((r) => r.json()),
      file("model/embeddings.bin").then((r) => r.arrayBuffer()),
      file("model/languages.bin").then((r) => r.arrayBuffer()),
      file("model/encoder.onnx")
        .then((r) => r.arrayBuffer())
        .then((bytes) => ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ["wasm"] })),
    ]);
    const detector = new LanguageDetector(languages, config.detector);
    return new LocalModel(config, new Tokenizer(tokenizer, {}), embeddings, detector, session);
  }

  constructor(config, tokenizer, embeddings, detector, session) {
    this.config = config;
    this.detector = detector;
    this.tokenizer = tokenizer;
    this.session = session;
    const { rows, hidden, block } = config.embeddings;
    const blocks = hidden / block;
    this.hidden = hidden;
    this.block = block;
    this.blocks = blocks;
    const scales = new Uint16Array(embeddings, 0, rows * blocks);
    this.scales = Float32Array.from(scales, half);
    let offset = rows * blocks * 2;
    this.packed = new Uint8Array(embeddings, offset, rows * blocks * (block / 2));
    offset += this.packed.byteLength;
    this.positions = new Float32Array(embeddings, offset, config.max_length * hidden);
    this.type = new Float32Array(embeddings, offset + this.positions.byteLength, hidden);
    this.pivot = logit(config.threshold);
    this.outputs = [...new Set([config.kinds_layer, config.layers])].map((layer) => `hidden.${layer}`);
  }

  /** Token ids of one headline, as the service's tokenizer gives them: <s>, the pieces of the
      prefixed, normalised text cut to the model's cap, </s>. */
  encode(headline) {
    const text = this.config.query_prefix + normaliseHeadline(headline);
    const ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const room = this.config.max_length - 2;
    const kept = this.config.truncation_side === "left" ? ids.slice(Math.max(0, ids.length - room)) : ids.slice(0, room);
    return [BOS, ...kept, EOS];
  }

  /** The word, position and type embeddings of padded rows, summed as float32 (NumpyClassifier.summed). */
  summed(rows, width) {
    const { hidden, block, blocks, scales, packed, positions, type } = this;
    const out = new Float32Array(rows.length * width * hidden);
    const halfBlock = block / 2; // a byte holds weight j and weight j + halfBlock of its block
    rows.forEach((ids, r) => {
      for (let p = 0; p < width; p++) {
        const id = p < ids.length ? ids[p] : this.config.pad_id;
        const at = (r * width + p) * hidden;
        for (let b = 0; b < blocks; b++) {
          const scale = scales[id * blocks + b];
          const bytes = (id * blocks + b) * halfBlock;
          for (let j = 0; j < halfBlock; j++) {
            const byte = packed[bytes + j];
            const low = b * block + j;
            const high = low + halfBlock;
            const position = p * hidden;
            // float32 as numpy adds them: (word + position) rounded, then + type rounded on storing
            out[at + low] = Math.fround(((byte & 0x0f) - 8) * scale + positions[position + low]) + type[low];
            out[at + high] = Math.fround(((byte >> 4) - 8) * scale + positions[position + high]) + type[high];
          }
        }
      }
    });
    return out;
  }

  /** [rows, hidden] means of a [rows, width, hidden] output over each row's real tokens. */
  pooled(states, rows, width) {
    const { hidden } = this;
    return rows.map((ids, r) => {
      const mean = new Float64Array(hidden);
      for (let p = 0; p < ids.length; p++) {
        const at = (r * width + p) * hidden;
        for (let k = 0; k < hidden; k++) mean[k] += states[at + k];
      }
      return mean.map((v) => v / ids.length);
    });
  }

  /** Of each row: ``logits``, [1 + kinds] raw logits (the teaser head on the last layer's mean, each
      kind's on kinds_layer's, unit length where the model says), and ``vectors``, that last-layer
      mean (Scorer.embeddings: what a personal layer reads, local-personal.js). */
  async run(rows) {
    const width = Math.max(...rows.map((ids) => ids.length));
    const mask = new BigInt64Array(rows.length * width);
    rows.forEach((ids, r) => mask.fill(1n, r * width, r * width + ids.length));
    const feeds = {
      embeddings: new ort.Tensor("float32", this.summed(rows, width), [rows.length, width, this.hidden]),
      attention_mask: new ort.Tensor("int64", mask, [rows.length, width]),
    };
    const found = await this.session.run(feeds, this.outputs);
    const { config } = this;
    const last = this.pooled(found[`hidden.${config.layers}`].data, rows, width);
    const read = this.pooled(found[`hidden.${config.kinds_layer}`].data, rows, width);
    const { weight, bias } = config.head;
    const logits = rows.map((_, r) => {
      let kindsRead = read[r];
      if (config.kinds_normalised) {
        const norm = Math.max(Math.hypot(...kindsRead), 1e-12);
        kindsRead = kindsRead.map((v) => v / norm);
      }
      return bias.map((b, column) => {
        const vector = column === 0 ? last[r] : kindsRead;
        let sum = b;
        for (let k = 0; k < vector.length; k++) sum += vector[k] * weight[k][column];
        return sum;
      });
    });
    return { logits, vectors: last };
  }

  /** Each kind's logit moved by its language's offset, in place (Scorer.centred; a language the
      model lists no offsets for takes the entry for any language, "und"). */
  centre(outputs, lang) {
    const table = this.config.kinds_offsets ?? {};
    const offsets = table[lang] ?? table.und;
    if (offsets) offsets.forEach((offset, k) => (outputs[1 + k] += offset));
  }

  /** Calibrated P(teaser) of one row of logits in ``lang`` (Scorer.teaser_logits, calibrated). */
  probability(outputs, lang) {
    const { config, pivot } = this;
    let teaser = outputs[0];
    for (const kind of config.kinds_in_score) {
      const placed = (outputs[1 + config.kinds.indexOf(kind)] + pivot) * config.temperature;
      teaser = Math.max(teaser, placed);
    }
    return this.calibrated(teaser, lang);
  }

  /** A teaser logit calibrated in ``lang`` (classifier.scorer.calibrated, hinged at the threshold). */
  calibrated(logit, lang) {
    const { config, pivot } = this;
    const x = logit / config.temperature;
    const correction = config.languages[lang] ?? { below: 1, above: 1, offset: 0 };
    const k = x >= pivot ? correction.above : correction.below;
    return sigmoid(pivot + k * (x - pivot) + correction.offset);
  }

  /** P(kind) of one row of logits in ``lang`` (Scorer.kinds): bait is the teaser head's own
      probability, under the same calibration; each kind head's is its sigmoid. */
  kindScores(outputs, lang) {
    const { kinds } = this.config;
    if (!kinds.length) return {};
    const heads = kinds.filter((kind) => kind !== "bait").map((kind) => [kind, sigmoid(outputs[1 + kinds.indexOf(kind)])]);
    return Object.fromEntries([["bait", this.calibrated(outputs[0], lang)], ...heads]);
  }

  /** What the extension's `score` message answers, for ``headlines`` in ``langs`` (ISO 639-1 codes;
      where one is missing, detected as the service detects it): the model's threshold, each
      headline's calibrated score, whether its language is one the model was not validated in, its
      language, and P(kind) for each kind; with ``vectors``, each headline's pooled last-layer vector
      too. Batches as the service's Scorer: length-sorted, in input order back. */
  async score(headlines, langs = null, { vectors = false } = {}) {
    const { config } = this;
    const encoded = headlines.map((headline) => this.encode(headline));
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a].length - encoded[b].length || a - b);
    const logits = new Array(headlines.length);
    const pooled = new Array(headlines.length);
    for (let start = 0; start < order.length; start += config.batch_size) {
      const batch = order.slice(start, start + config.batch_size);
      const found = await this.run(batch.map((i) => encoded[i]));
      batch.forEach((i, j) => {
        logits[i] = found.logits[j];
        pooled[i] = found.vectors[j];
      });
    }
    const found = headlines.map((headline, i) => langs?.[i] || this.detector.detect(headline));
    found.forEach((lang, i) => this.centre(logits[i], lang));
    const claims = Object.keys(config.languages).length > 0;
    return {
      model: config.version,
      threshold: config.threshold,
      scores: logits.map((row, i) => this.probability(row, found[i])),
      unvalidated: found.map((lang) => claims && !(lang in config.languages)),
      langs: found,
      kinds: logits.map((row, i) => this.kindScores(row, found[i])),
      ...(vectors ? { vectors: pooled } : {}),
    };
  }
}
