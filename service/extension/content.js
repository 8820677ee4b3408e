/* On every page: find the headline links (headlines.js), have the service score them (through the
   service worker), and dim those at or above the threshold with a small badge; hovering one shows
   its score and the words behind it, with buttons that send the reader's correction back.
   The page's own nodes are never removed or moved: a dimmed link gets an inline opacity (its own
   value is put back when it is shown again) and a badge element after it; the "why" card is one
   element of ours at the end of the document. Badge and card render in shadow roots, so the page's
   styles do not reach them and theirs do not leak out. */
"use strict";

(() => {
  const DIM_OPACITY = "0.35";
  const BATCH = 32; // headlines per scoring request (the service takes up to 256 by default)
  const DEBOUNCE_MS = 300; // new items are scored this long after the page stops adding them...
  const MAX_WAIT_MS = 2000; // ...or this long after the first, for pages that never stop
  const HOST = location.hostname;
  const OWN_TAGS = new Set(["CLICKBAIT-BADGE", "CLICKBAIT-CARD"]);
  // Inline and !important: the host elements sit in the page's light DOM, where its styles apply.
  const BADGE_HOST_STYLE = "all: initial !important; display: inline-block !important; margin: 0 0 0 .35em !important; vertical-align: middle !important;";
  const CARD_HOST_STYLE = "all: initial !important; position: fixed !important; z-index: 2147483647 !important; display: none !important;";
  const SHARED_CSS = `
    button { font: 600 11px/1.4 system-ui, sans-serif; cursor: pointer; border-radius: 9px; }
  `;
  const BADGE_CSS = `${SHARED_CSS}
    button { border: 1px solid #b3261e; background: #fff4f2; color: #b3261e; padding: 0 .5em; white-space: nowrap; }
    button.news { border-color: #2e6b30; background: #f1f8f0; color: #2e6b30; }
  `;
  const CARD_CSS = `${SHARED_CSS}
    .card { box-sizing: border-box; width: 320px; max-width: calc(100vw - 12px); padding: 10px 12px; background: #fff; color: #1f1f1f;
            border: 1px solid #c9c9c9; border-radius: 8px; box-shadow: 0 4px 16px rgba(0,0,0,.18); font: 13px/1.4 system-ui, sans-serif; }
    p { margin: 0 0 8px; }
    .word { border-radius: 3px; padding: 0 3px; margin-right: 4px; display: inline-block; }
    .actions { display: flex; gap: 6px; flex-wrap: wrap; }
    .actions button { border: 1px solid #888; background: #f6f6f6; color: #1f1f1f; padding: 2px 10px; }
    .status { margin: 8px 0 0; color: #555; }
    .status:empty { display: none; }
  `;

  const state = {
    settings: { ...DEFAULT_SETTINGS },
    modelThreshold: null, // the model's, from the first scoring answer
    items: new Map(), // headline element -> key (its text, lower-cased)
    texts: new Map(), // key -> the text as sent
    scores: new Map(), // key -> P(clickbait)
    unvalidated: new Map(), // key -> its language, where the model was not validated in it
    explanations: new Map(), // key -> promise of the service's explanation
    corrected: new Map(), // key -> the label the reader gave
    shown: new Set(), // keys the reader asked to see undimmed
    badges: new Map(), // element -> its badge
    originals: new Map(), // element -> its inline opacity before dimming: [value, priority, had a style attribute]
    requests: 0,
    budgetSpent: false,
    showAll: false,
    error: null,
  };
  const badgeOwners = new WeakMap(); // badge -> element

  const enabled = () => !state.settings.disabledSites.includes(HOST);
  const threshold = () => state.settings.threshold ?? state.modelThreshold;

  async function ask(message) {
    try {
      return await ext.runtime.sendMessage(message);
    } catch (error) {
      return { error: `The extension's background part did not answer (${error.message}). Reload the page.` };
    }
  }

  // ---- how one element looks ----

  function dim(element) {
    if (!state.originals.has(element)) {
      const style = element.style;
      state.originals.set(element, [style.getPropertyValue("opacity"), style.getPropertyPriority("opacity"), element.hasAttribute("style")]);
    }
    element.style.setProperty("opacity", DIM_OPACITY, "important");
  }

  function restoreOpacity(element) {
    const original = state.originals.get(element);
    if (!original) return;
    const [value, priority, hadStyle] = original;
    if (value) element.style.setProperty("opacity", value, priority);
    else element.style.removeProperty("opacity");
    if (!hadStyle && !element.getAttribute("style")) element.removeAttribute("style");
    state.originals.delete(element);
  }

  function showBadge(element, score, corrected, unvalidatedLang = null) {
    let badge = state.badges.get(element);
    if (!badge) {
      badge = document.createElement("clickbait-badge");
      badge.setAttribute("style", BADGE_HOST_STYLE);
      const root = badge.attachShadow({ mode: "open" });
      root.innerHTML = `<style>${BADGE_CSS}</style><button type="button" aria-haspopup="dialog"></button>`;
      root.querySelector("button").addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        if (event.isTrusted) openCard(element); // the reader's click, not one the page made
      });
      state.badges.set(element, badge);
      badgeOwners.set(badge, element);
    }
    if (!badge.isConnected) element.after(badge); // new, or the page re-rendered around it
    const button = badge.shadowRoot.querySelector("button");
    button.textContent = corrected ? `${corrected === "news" ? "not clickbait" : "clickbait"} ✓` : `clickbait ${score.toFixed(2)}`;
    button.className = corrected === "news" ? "news" : "";
    if (unvalidatedLang && !corrected) button.textContent += ` (${unvalidatedLang}: not validated, not dimmed)`;
    button.title = "Why? Click or hover";
  }

  /** The element as the page made it: no opacity of ours, no badge. */
  function plain(element) {
    restoreOpacity(element);
    state.badges.get(element)?.remove();
    state.badges.delete(element);
  }

  function render(element) {
    const key = state.items.get(element);
    const score = state.scores.get(key);
    const limit = threshold();
    if (!enabled() || score === undefined || limit === null || score < limit) {
      plain(element);
      return;
    }
    const corrected = state.corrected.get(key);
    // a score in a language the model was never validated on is a guess: badged, not dimmed, unless asked
    const held = state.unvalidated.has(key) && !state.settings.dimUnvalidated;
    showBadge(element, score, corrected, held ? state.unvalidated.get(key) : null);
    if (held || state.showAll || corrected === "news" || state.shown.has(key)) restoreOpacity(element);
    else dim(element);
  }

  function renderAll() {
    for (const element of state.items.keys()) render(element);
    if (card.element && !state.badges.has(card.element)) hideCard();
  }

  // ---- finding and scoring ----

  let scanning = false;
  let scanAgain = false;

  async function scan() {
    if (!enabled()) return;
    if (scanning) {
      scanAgain = true;
      return;
    }
    scanning = true;
    try {
      for (const element of state.items.keys()) {
        if (!element.isConnected) forget(element);
      }
      for (const { element, text } of findHeadlines()) {
        const key = text.toLowerCase();
        if (state.items.get(element) === key) continue;
        plain(element); // new, or its text changed: judged anew
        state.items.set(element, key);
        if (!state.texts.has(key)) state.texts.set(key, text);
        render(element);
      }
      await scoreMissing();
    } finally {
      scanning = false;
      if (scanAgain) {
        scanAgain = false;
        schedule();
      }
    }
  }

  function forget(element) {
    plain(element);
    state.items.delete(element);
  }

  /** Scores of the keys not scored yet, BATCH at a time, within the page's request budget. */
  async function scoreMissing() {
    const missing = [...new Set(state.items.values())].filter((key) => !state.scores.has(key));
    while (missing.length && enabled()) {
      if (state.requests >= state.settings.maxRequestsPerPage) {
        state.budgetSpent = true;
        return;
      }
      const keys = missing.splice(0, BATCH);
      state.requests += 1;
      const reply = await ask({ type: "score", headlines: keys.map((key) => state.texts.get(key)) });
      if (reply.error) {
        state.error = reply.error; // the page stays as it is; the popup says why
        return;
      }
      state.error = null;
      state.modelThreshold = reply.threshold;
      keys.forEach((key, i) => {
        state.scores.set(key, reply.scores[i]);
        if (reply.unvalidated?.[i]) state.unvalidated.set(key, reply.langs?.[i] ?? "und");
      });
      const fresh = new Set(keys);
      for (const [element, key] of state.items) if (fresh.has(key)) render(element);
    }
  }

  let timer = null;
  let firstChange = 0;

  function schedule() {
    if (!enabled()) return;
    const now = Date.now();
    if (timer === null) firstChange = now;
    clearTimeout(timer);
    const wait = Math.max(0, Math.min(DEBOUNCE_MS, firstChange + MAX_WAIT_MS - now));
    timer = setTimeout(() => {
      timer = null;
      scan();
    }, wait);
  }

  // ---- the "why" card ----

  const card = { host: null, root: null, element: null, hideTimer: null };

  function cardParts() {
    if (!card.host) {
      card.host = document.createElement("clickbait-card");
      card.host.setAttribute("style", CARD_HOST_STYLE);
      card.root = card.host.attachShadow({ mode: "open" });
      card.root.innerHTML = `<style>${CARD_CSS}</style>
        <div class="card" role="dialog" aria-label="Why this headline is dimmed">
          <p class="score"></p><p class="why"></p>
          <div class="actions">
            <button type="button" data-label="news">Not clickbait</button>
            <button type="button" data-label="clickbait">Clickbait</button>
            <button type="button" class="show"></button>
          </div>
          <p class="status" role="status"></p>
        </div>`;
      for (const button of card.root.querySelectorAll("button[data-label]")) {
        // a page can call click() on any element it reaches: only the reader's own clicks label
        button.addEventListener("click", (event) => event.isTrusted && correct(card.element, button.dataset.label));
      }
      card.root.querySelector("button.show").addEventListener("click", (event) => event.isTrusted && toggleShown());
      card.host.addEventListener("mouseenter", () => clearTimeout(card.hideTimer));
      card.host.addEventListener("mouseleave", hideSoon);
    }
    if (!card.host.isConnected) document.documentElement.append(card.host);
    return card.root;
  }

  function openCard(element) {
    clearTimeout(card.hideTimer);
    const root = cardParts();
    const key = state.items.get(element);
    const score = state.scores.get(key);
    if (card.element !== element) root.querySelector(".status").textContent = "";
    card.element = element;
    root.querySelector(".score").textContent = `Clickbait score ${score.toFixed(2)} (threshold ${threshold().toFixed(2)})`;
    root.querySelector("button.show").textContent = state.shown.has(key) ? "Dim" : "Show";
    showWhy(key);
    card.host.style.setProperty("display", "block", "important");
    const box = element.getBoundingClientRect();
    const { width, height } = card.host.getBoundingClientRect();
    const top = box.bottom + 6 + height < innerHeight ? box.bottom + 6 : Math.max(6, box.top - 6 - height);
    card.host.style.setProperty("top", `${top}px`, "important");
    card.host.style.setProperty("left", `${Math.max(6, Math.min(box.left, innerWidth - width - 6))}px`, "important");
  }

  async function showWhy(key) {
    const why = card.root.querySelector(".why");
    why.textContent = "Finding the words behind it…";
    if (!state.explanations.has(key)) state.explanations.set(key, ask({ type: "explain", headline: state.texts.get(key) }));
    const reply = await state.explanations.get(key);
    if (state.items.get(card.element) !== key) return; // the card moved on meanwhile
    if (reply.error) {
      state.explanations.delete(key); // asked again on the next hover
      why.textContent = reply.error;
      return;
    }
    const pushing = reply.words.filter((word) => word.contribution > 0.005).slice(0, 5);
    if (!pushing.length) {
      why.textContent = "No single word stands out: the wording as a whole reads as a teaser.";
      return;
    }
    const scale = Math.max(0.05, ...pushing.map((word) => word.contribution));
    why.replaceChildren("Words that pushed it: ");
    for (const word of pushing) {
      const span = document.createElement("span");
      span.className = "word";
      span.style.background = `rgba(220,40,40,${((word.contribution / scale) * 0.55).toFixed(3)})`;
      span.textContent = `${word.word} +${word.contribution.toFixed(2)}`;
      why.append(span);
    }
  }

  function hideCard() {
    if (card.host) card.host.style.setProperty("display", "none", "important");
    card.element = null;
  }

  function hideSoon() {
    clearTimeout(card.hideTimer);
    card.hideTimer = setTimeout(hideCard, 400);
  }

  function toggleShown() {
    const key = state.items.get(card.element);
    if (state.shown.has(key)) state.shown.delete(key);
    else state.shown.add(key);
    renderAll();
    if (card.element) openCard(card.element);
  }

  async function correct(element, label) {
    const key = state.items.get(element);
    const status = card.root.querySelector(".status");
    status.textContent = "Sending…";
    const reply = await ask({ type: "label", headline: state.texts.get(key), label });
    if (card.element !== element) return;
    if (reply.error) {
      status.textContent = reply.error;
      return;
    }
    state.corrected.set(key, label);
    status.textContent = `Stored as ${label === "news" ? "not clickbait" : "clickbait"} for ${HOST}; the next retraining learns it.`;
    renderAll();
  }

  /** The headline element a pointer event is over, if it is one we flagged (or its badge). */
  function flaggedUnder(target) {
    if (badgeOwners.has(target)) return badgeOwners.get(target);
    const anchor = target instanceof Element ? target.closest("a[href]") : null;
    return anchor && state.badges.has(anchor) ? anchor : null;
  }

  document.addEventListener(
    "mouseover",
    (event) => {
      const element = flaggedUnder(event.target);
      if (element) openCard(element);
    },
    true,
  );
  document.addEventListener(
    "mouseout",
    (event) => {
      if (card.element && flaggedUnder(event.target) === card.element) hideSoon();
    },
    true,
  );
  addEventListener("scroll", () => card.element && hideCard(), { passive: true, capture: true });
  addEventListener("keydown", (event) => event.key === "Escape" && card.element && hideCard());

  // ---- the popup's questions, the settings, the page's changes ----

  const settingsLoaded = loadSettings(PAGE_SETTINGS).then((settings) => {
    state.settings = settings;
  });

  ext.runtime.onMessage.addListener((message, _sender, reply) => {
    if (message?.type === "state") {
      settingsLoaded.then(() => reply(pageState()));
      return true; // answered once the settings are in: before, "enabled" is not known
    }
    if (message?.type === "showAll") {
      state.showAll = Boolean(message.value);
      renderAll();
      reply({ showAll: state.showAll });
    }
    return false;
  });

  function pageState() {
    const elements = [...state.items.keys()];
    return {
      host: HOST,
      enabled: enabled(),
      headlines: elements.length,
      scored: elements.filter((element) => state.scores.has(state.items.get(element))).length,
      flagged: state.badges.size,
      dimmed: state.originals.size,
      modelThreshold: state.modelThreshold,
      showAll: state.showAll,
      requests: state.requests,
      budgetSpent: state.budgetSpent,
      error: state.error,
    };
  }

  ext.storage.onChanged.addListener(async (_changes, area) => {
    if (area !== "local") return;
    state.settings = await loadSettings(PAGE_SETTINGS);
    renderAll();
    if (enabled()) scan();
    else hideCard();
  });

  new MutationObserver((records) => {
    if (records.some((record) => Array.from(record.addedNodes).some((node) => !OWN_TAGS.has(node.nodeName)))) schedule();
  }).observe(document.documentElement, { childList: true, subtree: true });

  settingsLoaded.then(scan);
})();
