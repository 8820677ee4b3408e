/* The reader's personal layer in the browser: classifier/personal.py's PersonalLayer ported (fit,
   shift, apply), with the same features and the same arithmetic, for the labels the reader keeps in
   this browser when no service is set. It reads what the local model already computes for a
   headline, its calibrated P(teaser) and its pooled last-layer vector, and moves the teaser logit by
   a kernel logistic regression whose offset is the shared logit (centred on the threshold): over the
   unit vector (centred, divided by its spread), the headline's bag of tokens (times ``words``) and
   its marks of form (times ``marks``), with the penalties, balanced class weights and Newton steps of
   the Python fit (the Newton system solved by Gaussian elimination with partial pivoting). Its
   numbers come from the build (personal.json: service/cli/extension_build.py takes them from
   ServiceSettings and classifier/personal.py). The layer never leaves the browser.
   A classic script: the service worker imports it (fit), Chromium's offscreen document and
   Firefox's background page load it beside the model (apply); tests load it in an extension page
   and compare it with the Python fit (tests/service/test_extension_personal.py). */
"use strict";

const LocalPersonal = (() => {
  // Python's str.isspace(), which str.split() and re's \s read; and re's \w for str patterns
  // (Unicode letters and numbers, and "_"), \d (Unicode decimal digits)
  const SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
  const WORD = "\\p{L}\\p{N}_";
  const SPACES = new RegExp(`[${SPACE}]+`, "u");
  const TOKEN = new RegExp(`[${WORD}]+|[^${WORD}${SPACE}]`, "gu"); // \w+|[^\w\s]
  const QUOTES = /[“”„‟«»‹›〝〞＂]/gu; // one mark, however a site types it
  const CHEROKEE = /\p{Script=Cherokee}/u;

  // classifier/personal.py's MARKS, in its order (Python's \b, \W and \d spelt out: JavaScript's
  // are ASCII-only)
  const MARKS = [
    ["quote", /["“”„«»]/u],
    ["question", /[?¿]/u],
    ["exclamation", /[!¡]/u],
    ["colon", /:/u],
    ["ellipsis", /\.\.\.|…/u],
    ["digit", /\p{Nd}/u],
    ["leading digit", new RegExp(`^[^${WORD}]*\\p{Nd}`, "u")],
    // \b[^\W\d_a-z]{3,}\b: a word of three or more capitals
    ["capitals", new RegExp(`(?<![${WORD}])(?:(?![\\p{Nd}_a-z])[${WORD}]){3,}(?![${WORD}])`, "u")],
    ["bracket", /[(\[]/u],
  ];

  /** The service's normalise_headline: NFKC, whitespace runs as one space, ends stripped. */
  function normalise(text) {
    return text
      .normalize("NFKC")
      .split(SPACES)
      .filter((word) => word)
      .join(" ");
  }

  /** One character as Python's str.casefold() folds it (its table agrees with upper-then-lower
      case everywhere but these). */
  function foldChar(c) {
    if (c === "ı") return c;
    if (c === "ẞ") return "ss";
    const upper = c.toUpperCase();
    return CHEROKEE.test(c) ? upper : upper.toLowerCase();
  }

  const casefold = (text) => Array.from(text, foldChar).join("");

  /** The words and marks of a headline, case-folded: tokens() of classifier/personal.py. */
  function tokens(headline) {
    return new Set(casefold(normalise(headline)).replace(QUOTES, '"').match(TOKEN) ?? []);
  }

  /** [len(MARKS)]: 1 where the raw headline has the mark (mark_features). */
  const markFeatures = (headline) => MARKS.map(([, pattern]) => (pattern.test(headline) ? 1 : 0));

  /** |A ∩ B| / √(|A|·|B|): the dot product of two unit-length bags of tokens. */
  function tokenOverlap(a, b) {
    if (!a.size || !b.size) return 0;
    let shared = 0;
    for (const token of a) if (b.has(token)) shared += 1;
    return shared / Math.sqrt(a.size * b.size);
  }

  const dot = (a, b) => {
    let sum = 0;
    for (let k = 0; k < a.length; k++) sum += a[k] * b[k];
    return sum;
  };

  /** A vector scaled to length 1 (unit). */
  function unit(vector) {
    const norm = Math.max(Math.sqrt(dot(vector, vector)), 1e-12);
    return Float64Array.from(vector, (v) => v / norm);
  }

  /** log(p / (1 − p)), p kept off 0 and 1 (classifier/scorer.py's logit). */
  function logit(p) {
    const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
    return Math.log(q / (1 - q));
  }

  const sigmoid = (x) => 1 / (1 + Math.exp(-Math.min(Math.max(x, -50), 50)));
  const logAddExp0 = (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))); // log(1 + eˣ)

  /** Per label, n / (2 · its class's count); all ones while one class is missing. */
  function balancedWeights(y) {
    const ones = y.filter((v) => v === 1).length;
    const counts = [y.length - ones, ones];
    return counts.every((c) => c > 0) ? y.map((v) => y.length / (2 * counts[v])) : y.map(() => 1);
  }

  /** x with A·x = b (A [m][m], b [m], both left as they are): Gaussian elimination with partial
      pivoting. A zero pivot column gives 0 for its unknown. */
  function solve(A, b) {
    const m = b.length;
    const a = A.map((row, i) => [...row, b[i]]);
    for (let col = 0; col < m; col++) {
      let pivot = col;
      for (let r = col + 1; r < m; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
      [a[col], a[pivot]] = [a[pivot], a[col]];
      const head = a[col];
      if (head[col] === 0) continue;
      for (let r = col + 1; r < m; r++) {
        const row = a[r];
        const factor = row[col] / head[col];
        if (factor === 0) continue;
        for (let k = col; k <= m; k++) row[k] -= factor * head[k];
      }
    }
    const x = new Array(m).fill(0);
    for (let r = m - 1; r >= 0; r--) {
      if (a[r][r] === 0) continue;
      let sum = a[r][m];
      for (let k = r + 1; k < m; k++) sum -= a[r][k] * x[k];
      x[r] = sum / a[r][r];
    }
    return x;
  }

  /** (α, b) of the logistic regression with ``offset`` over the ``kernel`` [n][n]:
      fit_kernel_logistic, Newton's method with the same steps, halvings and stop. */
  function fitKernelLogistic(kernel, offset, y, { penalty, bias_penalty: biasPenalty, newton_steps: steps }) {
    const n = y.length;
    const c = balancedWeights(y);
    let alpha = new Array(n).fill(0);
    let b = 0;
    const objective = (a, bias) => {
      let loss = 0;
      let quadratic = 0;
      for (let i = 0; i < n; i++) {
        const ka = dot(kernel[i], a);
        const z = offset[i] + ka + bias;
        loss += c[i] * (logAddExp0(z) - y[i] * z);
        quadratic += a[i] * ka;
      }
      return loss + (penalty / 2) * quadratic + (biasPenalty / 2) * bias * bias;
    };
    let current = objective(alpha, b);
    for (let step = 0; step < steps; step++) {
      const p = kernel.map((row, i) => sigmoid(offset[i] + dot(row, alpha) + b));
      const s = p.map((pi, i) => c[i] * pi * (1 - pi));
      // (S·K + λ)·Δα + S·1·Δb = c(p − y) + λα, and for the bias its row
      const system = kernel.map((row, i) => {
        const line = row.map((k) => s[i] * k);
        line[i] += penalty;
        line.push(s[i]);
        return line;
      });
      const last = new Array(n + 1).fill(0);
      for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) last[j] += s[i] * kernel[i][j];
      last[n] = s.reduce((sum, v) => sum + v, 0) + biasPenalty;
      system.push(last);
      const rhs = p.map((pi, i) => c[i] * (pi - y[i]) + penalty * alpha[i]);
      rhs.push(p.reduce((sum, pi, i) => sum + c[i] * (pi - y[i]), 0) + biasPenalty * b);
      const found = solve(system, rhs);
      let size = 1; // halved until the objective falls: a full step can overshoot on separable labels
      const moved = (t) => [alpha.map((a, i) => a - t * found[i]), b - t * found[n]];
      while (size > 1e-4 && objective(...moved(size)) > current) size /= 2;
      [alpha, b] = moved(size);
      const previous = current;
      current = objective(alpha, b);
      if (previous - current < 1e-9 * Math.max(1, Math.abs(current))) break;
    }
    return [alpha, b];
  }

  /** The layer for a reader's labelled headlines (PersonalLayer.fit): their pooled ``vectors``, their
      shared P(teaser) ``probs`` at the shared ``threshold``, ``labels`` (1: clickbait) and
      ``headlines``; ``settings``: personal.json's numbers. A plain object, kept as JSON. */
  function fit({ model, vectors, probs, labels, headlines, threshold }, settings) {
    const { words, marks } = settings;
    if (settings.mark_names && settings.mark_names.join("\n") !== MARKS.map(([name]) => name).join("\n")) {
      throw new Error("personal.json names other marks than local-personal.js reads: build the extension again");
    }
    const units = vectors.map(unit);
    const hidden = units[0].length;
    const centre = new Float64Array(hidden);
    for (const v of units) for (let k = 0; k < hidden; k++) centre[k] += v[k];
    for (let k = 0; k < hidden; k++) centre[k] /= units.length;
    const centred = units.map((v) => v.map((x, k) => x - centre[k]));
    const found = Math.sqrt(centred.reduce((sum, v) => sum + dot(v, v), 0) / centred.length);
    const scale = found > 1e-6 ? found : 1;
    const features = centred.map((v) => v.map((x) => x / scale));
    const bags = headlines.map(tokens);
    const pivot = logit(threshold);
    const offset = probs.map((p) => logit(p) - pivot);
    const formed = headlines.map(markFeatures);
    const kernel = features.map((f, i) =>
      features.map((g, j) => dot(f, g) + words ** 2 * tokenOverlap(bags[i], bags[j]) + marks ** 2 * dot(formed[i], formed[j])),
    );
    const y = labels.map((label) => (label ? 1 : 0));
    const [alpha, bias] = fitKernelLogistic(kernel, offset, y, settings);
    const weights = new Float64Array(hidden);
    features.forEach((f, i) => {
      for (let k = 0; k < hidden; k++) weights[k] += f[k] * alpha[i];
    });
    const tokenWeights = new Map();
    bags.forEach((bag, i) => {
      for (const token of bag) tokenWeights.set(token, (tokenWeights.get(token) ?? 0) + (words ** 2 * alpha[i]) / Math.sqrt(bag.size));
    });
    const markWeights = MARKS.map((_, m) => marks ** 2 * formed.reduce((sum, row, i) => sum + row[m] * alpha[i], 0));
    return {
      model,
      hidden,
      centre: Array.from(centre),
      scale,
      weights: Array.from(weights),
      token_weights: Object.fromEntries(tokenWeights), // own keys, even "__proto__"
      mark_weights: Object.fromEntries(MARKS.map(([name], m) => [name, markWeights[m]])),
      bias,
      headlines: [...headlines],
      labels: y,
    };
  }

  /** How far ``layer`` moves each headline's teaser logit (PersonalLayer.shift). */
  function shift(layer, vectors, headlines) {
    const { centre, scale, weights, bias } = layer;
    const tokenWeight = (token) => (Object.hasOwn(layer.token_weights, token) ? layer.token_weights[token] : 0);
    const markWeight = MARKS.map(([name]) => (Object.hasOwn(layer.mark_weights, name) ? layer.mark_weights[name] : 0));
    return headlines.map((headline, i) => {
      const u = unit(vectors[i]);
      let byVector = 0;
      for (let k = 0; k < u.length; k++) byVector += ((u[k] - centre[k]) / scale) * weights[k];
      const bag = tokens(headline);
      let byTokens = 0;
      for (const token of bag) byTokens += tokenWeight(token);
      byTokens = bag.size ? byTokens / Math.sqrt(bag.size) : 0;
      const byMarks = dot(markFeatures(headline), markWeight);
      return byVector + byTokens + byMarks + bias;
    });
  }

  /** The reader's P(teaser): the shared logit moved by ``shift`` (PersonalLayer.apply). */
  function apply(layer, probs, vectors, headlines) {
    const moved = shift(layer, vectors, headlines);
    return probs.map((p, i) => sigmoid(logit(p) + moved[i]));
  }

  /** A local model's answer (LocalModel.score's shape, with its ``vectors``) with ``layer`` applied
      in place: each score the reader's, and what the layer did, as the service says it (its
      ``personal`` and ``decided_by``). A layer fitted over another model's vectors is not applied:
      the answer says ``personalStale`` (learnt again by the caller). */
  function personalise(answer, layer, headlines) {
    if (layer.model !== answer.model || layer.hidden !== answer.vectors[0]?.length) {
      answer.personalStale = true;
      return answer;
    }
    const probs = apply(layer, answer.scores, answer.vectors, headlines);
    const over = (p) => p >= answer.threshold;
    answer.personal = probs.map((p, i) => ({ shared_score: answer.scores[i], changed: over(p) !== over(answer.scores[i]) }));
    answer.decided_by = answer.personal.map((why) => (why.changed ? "personal" : null));
    answer.scores = probs;
    return answer;
  }

  /** What the local model answers a scoring message: ``model``'s scores of ``headlines``, ``layer``
      applied where one is given, and the pooled vectors where ``vectors`` (a reader's label, for
      the next fit: the shared scores then, no layer). */
  async function answer(model, { headlines, layer = null, vectors = false }) {
    const found = await model.score(headlines, null, { vectors: true });
    if (layer && headlines.length) personalise(found, layer, headlines);
    if (vectors) found.vectors = found.vectors.map((v) => Array.from(v));
    else delete found.vectors;
    return found;
  }

  /** A vector as base64 of its float32 bytes (how storage keeps the labelled headlines'), and back. */
  function pack(vector) {
    const bytes = new Uint8Array(Float32Array.from(vector).buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }

  function unpack(text) {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return Array.from(new Float32Array(bytes.buffer));
  }

  return Object.freeze({ MARKS, normalise, casefold, tokens, markFeatures, fit, shift, apply, personalise, answer, pack, unpack });
})();
