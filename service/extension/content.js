/* On every page the reader has not switched off: find the headline links (headlines.js), have them
   scored (through the service worker: the local model, or the reader's service), and dim, blur or
   hide (the reader's mode) those at or above the threshold, with a small badge; hovering one shows
   its score and the words behind it, with buttons for the reader's correction, which the link's
   context menu also gives for any link ("This is a teaser" / "This is news").
   The page's own nodes are never removed or moved: a handled link gets inline styles (its own values
   are put back when it is shown again) and a badge element after it, which in hide mode is the
   "show" marker; the "why" card is one element of ours at the end of the document. Badge and card
   render in shadow roots, so the page's styles do not reach them and theirs do not leak out. */
"use strict";

(() => {
  // what each mode sets on a teaser's link, inline and !important
  const MODE_STYLES = {
    dim: [["opacity", "0.35"]],
    blur: [["filter", "blur(5px)"]],
    hide: [["display", "none"]],
  };
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
    corrected: new Map(), // key -> the label the reader gave (here or earlier on this site)
    ruled: new Map(), // key -> {label, by}: what a rule of the service decided (rule:FILE:LINE, site:HOST)
    shared: new Map(), // key -> the shared model's score, where the reader's personal layer moved it
    notes: new Map(), // key -> what became of the reader's correction, in words
    shown: new Set(), // keys the reader asked to see as the page shows them
    badges: new Map(), // element -> its badge
    originals: new Map(), // element -> {mode, hadStyle, values: [[property, value, priority]]} before we styled it
    scorer: null, // who scored the last batch: "local" (the model in this browser) or "service"
    requests: 0,
    budgetSpent: false,
    showAll: false,
    error: null,
  };
  const badgeOwners = new WeakMap(); // badge -> element

  const enabled = () => siteEnabled(state.settings, HOST);
  const threshold = () => state.settings.threshold ?? state.modelThreshold;

  async function ask(message) {
    try {
      return await ext.runtime.sendMessage(message);
    } catch (error) {
      return { error: t("errorBackground", error.message) };
    }
  }

  // ---- how one element looks ----

  function handle(element) {
    const mode = MODES.includes(state.settings.mode) ? state.settings.mode : "dim";
    const saved = state.originals.get(element);
    if (saved?.mode === mode) return;
    if (saved) unhandle(element); // the reader changed the mode
    const style = element.style;
    const values = MODE_STYLES[mode].map(([name]) => [name, style.getPropertyValue(name), style.getPropertyPriority(name)]);
    state.originals.set(element, { mode, hadStyle: element.hasAttribute("style"), values });
    for (const [name, value] of MODE_STYLES[mode]) style.setProperty(name, value, "important");
  }

  function unhandle(element) {
    const saved = state.originals.get(element);
    if (!saved) return;
    for (const [name, value, priority] of saved.values) {
      if (value) element.style.setProperty(name, value, priority);
      else element.style.removeProperty(name);
    }
    if (!saved.hadStyle && !element.getAttribute("style")) element.removeAttribute("style");
    state.originals.delete(element);
  }

  const hidden = (element) => state.originals.get(element)?.mode === "hide";

  function reveal(element) {
    state.shown.add(state.items.get(element));
    renderAll();
  }

  /** The shared model's score of ``key`` where the reader's layer changed its answer at the page's
      threshold (null elsewhere). */
  function movedFrom(key) {
    const shared = state.shared.get(key);
    const score = state.scores.get(key);
    const limit = threshold();
    if (shared === undefined || score === undefined || limit === null) return null;
    return shared >= limit !== score >= limit ? shared : null;
  }

  function showBadge(element, score, corrected, unvalidatedLang = null, rule = null) {
    let badge = state.badges.get(element);
    if (!badge) {
      badge = document.createElement("clickbait-badge");
      badge.setAttribute("style", BADGE_HOST_STYLE);
      const root = badge.attachShadow({ mode: "open" });
      const style = document.createElement("style");
      style.textContent = BADGE_CSS;
      const button = document.createElement("button");
      button.type = "button";
      root.append(style, button);
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        if (!event.isTrusted) return; // the reader's click, not one the page made
        if (hidden(element)) reveal(element); // hide mode: the badge is the "show" marker
        else openCard(element);
      });
      state.badges.set(element, badge);
      badgeOwners.set(badge, element);
    }
    if (!badge.isConnected) element.after(badge); // new, or the page re-rendered around it
    const button = badge.shadowRoot.querySelector("button");
    const key = state.items.get(element);
    if (hidden(element)) {
      button.textContent = t("badgeHidden");
      button.title = t("badgeHiddenTitle");
      button.removeAttribute("aria-haspopup");
    } else {
      if (corrected) button.textContent = t(corrected === "news" ? "badgeNews" : "badgeTeaser");
      else if (rule) button.textContent = t(rule.label === "news" ? "badgeRuleNews" : "badgeRuleTeaser", rule.by);
      else if (score === undefined) button.textContent = t("badgeTeaser");
      else if (movedFrom(key) !== null) button.textContent = t("badgePersonal", score.toFixed(2));
      else button.textContent = t("badgeScore", score.toFixed(2));
      if (unvalidatedLang && !corrected) button.textContent += ` ${t("badgeUnvalidated", unvalidatedLang)}`;
      button.title = state.notes.get(key) ?? t("badgeTitle");
      button.setAttribute("aria-haspopup", "dialog");
    }
    button.className = (corrected ?? rule?.label) === "news" ? "news" : "";
  }

  /** The element as the page made it: no style of ours, no badge. */
  function plain(element) {
    unhandle(element);
    state.badges.get(element)?.remove();
    state.badges.delete(element);
  }

  function render(element) {
    const key = state.items.get(element);
    const score = state.scores.get(key);
    const limit = threshold();
    const corrected = state.corrected.get(key);
    const rule = corrected ? null : state.ruled.get(key); // the reader's own label wins over a rule
    const decided = corrected ?? rule?.label; // a label that wins over the score and the threshold
    const over = score !== undefined && limit !== null && score >= limit;
    if (!enabled() || !(over || decided)) {
      plain(element);
      return;
    }
    // a score in a language the model was never validated on is a guess: badged, not handled, unless asked
    const held = over && !decided && state.unvalidated.has(key) && !state.settings.dimUnvalidated;
    const teaser = decided ? decided === "clickbait" : over;
    if (held || !teaser || state.showAll || state.shown.has(key)) unhandle(element);
    else handle(element);
    showBadge(element, score, corrected, held ? state.unvalidated.get(key) : null, rule);
  }

  function renderAll() {
    for (const element of state.items.keys()) render(element);
    if (card.element && (!state.badges.has(card.element) || hidden(card.element))) hideCard();
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
    const links = new Map(); // key -> the absolute address of the first link with that text
    for (const [element, key] of state.items) if (!links.has(key) && element.href) links.set(key, element.href);
    while (missing.length && enabled()) {
      if (state.requests >= state.settings.maxRequestsPerPage) {
        state.budgetSpent = true;
        return;
      }
      const keys = missing.splice(0, BATCH);
      state.requests += 1;
      const reply = await ask({
        type: "score",
        headlines: keys.map((key) => state.texts.get(key)),
        links: keys.map((key) => links.get(key) ?? null), // for a service's site and path rules
      });
      if (reply.error) {
        state.error = reply.error; // the page stays as it is; the popup says why
        return;
      }
      state.error = null;
      state.modelThreshold = reply.threshold;
      state.scorer = reply.scorer ?? "service";
      keep(keys, reply);
    }
  }

  /** A scoring reply's answers for ``keys``, rendered. */
  function keep(keys, reply) {
    keys.forEach((key, i) => {
      state.scores.set(key, reply.scores[i]);
      if (reply.decided?.[i]) state.ruled.set(key, reply.decided[i]);
      else state.ruled.delete(key);
      if (reply.personal?.[i]) state.shared.set(key, reply.personal[i].shared_score);
      else state.shared.delete(key);
      if (reply.unvalidated?.[i]) state.unvalidated.set(key, reply.langs?.[i] ?? "und");
    });
    const fresh = new Set(keys);
    for (const [element, key] of state.items) if (fresh.has(key)) render(element);
  }

  let rescoring = null;
  let rescoreAgain = false;

  /** Every scored headline scored again, after the reader's personal layer changed (learnt again,
      switched off or on, forgotten): the local model answers in this browser, so this spends none
      of the page's request budget. A service's layer changes at the service, seen at the next
      page. */
  async function rescore() {
    if (state.scorer !== "local" || !enabled()) return;
    if (rescoring) {
      rescoreAgain = true;
      return;
    }
    rescoring = (async () => {
      do {
        rescoreAgain = false;
        const keys = [...state.scores.keys()];
        for (let start = 0; start < keys.length; start += BATCH) {
          const batch = keys.slice(start, start + BATCH);
          const reply = await ask({ type: "score", headlines: batch.map((key) => state.texts.get(key)) });
          if (reply.error || reply.scorer !== "local") return; // a service meanwhile: its answers stand
          keep(batch, reply);
        }
      } while (rescoreAgain);
    })().finally(() => (rescoring = null));
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

  /** An element of the card: ``tag`` with ``props`` set, ``children`` appended. */
  function make(tag, props = {}, ...children) {
    const element = Object.assign(document.createElement(tag), props);
    element.append(...children);
    return element;
  }

  function cardParts() {
    if (!card.host) {
      card.host = document.createElement("clickbait-card");
      card.host.setAttribute("style", CARD_HOST_STYLE);
      card.root = card.host.attachShadow({ mode: "open" });
      const labelButton = (label, text) => {
        const button = make("button", { type: "button", textContent: text });
        button.dataset.label = label;
        // a page can call click() on any element it reaches: only the reader's own clicks label
        button.addEventListener("click", (event) => event.isTrusted && correct(card.element, label));
        return button;
      };
      const show = make("button", { type: "button", className: "show" });
      show.addEventListener("click", (event) => event.isTrusted && toggleShown());
      const box = make(
        "div",
        { className: "card" },
        make("p", { className: "score" }),
        make("p", { className: "why" }),
        make("div", { className: "actions" }, labelButton("news", t("buttonNews")), labelButton("clickbait", t("buttonTeaser")), show),
        make("p", { className: "status" }),
      );
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-label", t("cardLabel"));
      box.querySelector(".status").setAttribute("role", "status");
      card.root.append(make("style", { textContent: CARD_CSS }), box);
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
    if (card.element !== element) root.querySelector(".status").textContent = state.notes.get(key) ?? "";
    card.element = element;
    root.querySelector(".score").textContent =
      score === undefined || threshold() === null ? t("cardMarked") : t("cardScore", score.toFixed(2), threshold().toFixed(2));
    const shared = movedFrom(key);
    if (shared !== null) root.querySelector(".score").textContent += ` ${t("cardPersonal", shared.toFixed(2))}`;
    const mode = MODES.includes(state.settings.mode) ? state.settings.mode : "dim";
    root.querySelector("button.show").textContent = state.shown.has(key) ? t(`again_${mode}`) : t("buttonShow");
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
    if (state.scorer === "local") {
      why.textContent = t("whyNeedsService"); // the model in the browser gives scores, not words
      return;
    }
    why.textContent = t("whyLoading");
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
      why.textContent = t("whyNone");
      return;
    }
    const scale = Math.max(0.05, ...pushing.map((word) => word.contribution));
    why.replaceChildren(t("whyWords"));
    for (const word of pushing) {
      const span = make("span", { className: "word", textContent: `${word.word} +${word.contribution.toFixed(2)}` });
      span.style.background = `rgba(220,40,40,${((word.contribution / scale) * 0.55).toFixed(3)})`;
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

  /** ``anchor`` as one of the page's items, if it is not one yet (a link the reader labelled from
      its context menu that the headline rules did not pick). */
  function adopt(anchor) {
    const text = linkText(anchor);
    const key = text.toLowerCase();
    state.items.set(anchor, key);
    if (!state.texts.has(key)) state.texts.set(key, text);
    return key;
  }

  /** The reader's label for ``element``: kept in this browser, sent to the service where one is
      set with a key (the service worker decides and says which in ``reply.note``). */
  async function correct(element, label) {
    const key = state.items.get(element) ?? adopt(element);
    const status = card.root?.querySelector(".status");
    if (card.element === element) status.textContent = t("statusSending");
    const reply = await ask({ type: "label", headline: state.texts.get(key), label });
    const note = reply.error ?? reply.note;
    state.notes.set(key, note);
    if (!reply.error) state.corrected.set(key, label);
    if (card.element === element) status.textContent = note;
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
      if (element && !hidden(element)) openCard(element);
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

  // the link a context menu was opened on: the one its "This is a teaser" / "This is news" label
  let contextLink = null;
  document.addEventListener("contextmenu", (event) => {
    contextLink = event.target instanceof Element ? event.target.closest("a[href]") : null;
  }, true);

  // ---- the popup's and the context menu's questions, the settings, the page's changes ----

  const settingsLoaded = Promise.all([
    loadSettings(PAGE_SETTINGS).then((settings) => {
      state.settings = settings;
    }),
    // this site's earlier corrections: only this host's come back
    ask({ type: "corrections" }).then((reply) => {
      for (const [key, label] of Object.entries(reply.corrections ?? {})) state.corrected.set(key, label);
    }),
  ]);

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
    if (message?.type === "contextLabel") {
      if (!contextLink?.isConnected) return false;
      correct(contextLink, message.label).then(() => reply({ note: state.notes.get(state.items.get(contextLink)) }));
      return true;
    }
    return false;
  });

  function pageState() {
    const elements = [...state.items.keys()];
    return {
      host: HOST,
      enabled: enabled(),
      mode: state.settings.mode,
      headlines: elements.length,
      scored: elements.filter((element) => state.scores.has(state.items.get(element))).length,
      flagged: state.badges.size,
      handled: state.originals.size,
      // answers the reader's layer changed (those they labelled themselves aside)
      personal: elements.filter((element) => !state.corrected.has(state.items.get(element)) && movedFrom(state.items.get(element)) !== null).length,
      scorer: state.scorer,
      modelThreshold: state.modelThreshold,
      showAll: state.showAll,
      requests: state.requests,
      budgetSpent: state.budgetSpent,
      error: state.error,
    };
  }

  ext.storage.onChanged.addListener(async (changes, area) => {
    if (area !== "local") return;
    state.settings = await loadSettings(PAGE_SETTINGS);
    if (changes.corrections && !changes.corrections.newValue) state.corrected.clear(); // forgotten
    renderAll();
    if (enabled()) scan();
    else hideCard();
    if (changes.personal || changes.personalLayer) rescore(); // the reader's layer changed
  });

  new MutationObserver((records) => {
    if (records.some((record) => Array.from(record.addedNodes).some((node) => !OWN_TAGS.has(node.nodeName)))) schedule();
  }).observe(document.documentElement, { childList: true, subtree: true });

  settingsLoaded.then(scan);
})();
