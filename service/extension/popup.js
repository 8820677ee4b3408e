/* The toolbar popup: the current site's switch, what the page's content script did (or why it did
   nothing) and who scored its headlines (the local model or a service), the service's state, the
   threshold, and "show all" for the page. */
"use strict";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 700; // the page's counts move while infinite scroll adds items

/** The tab the popup speaks for: the active one, or ?tab=ID when popup.html is opened as a page. */
async function targetTab() {
  const asked = Number(new URLSearchParams(location.search).get("tab"));
  if (asked) return ext.tabs.get(asked);
  const [tab] = await ext.tabs.query({ active: true, currentWindow: true });
  return tab;
}

function say(element, text, problem = false) {
  element.textContent = text;
  element.classList.toggle("problem", problem);
}

async function pageState(tab) {
  try {
    return await ext.tabs.sendMessage(tab.id, { type: "state" });
  } catch {
    return null; // no content script: not an http(s) page, or loaded before the extension
  }
}

function describePage(page, settings) {
  if (!page) return [t("pageNone"), false];
  if (!page.enabled) return [t(settings.onlyListedSites ? "pageOffListed" : "pageOff"), false];
  if (page.error) return [t("pageError", page.error), true];
  if (!page.headlines) return [t("pageNoHeadlines"), false];
  const mode = MODES.includes(page.mode) ? page.mode : "dim";
  let text =
    page.flagged > page.handled
      ? t(`pageCountShown_${mode}`, page.handled, page.scored, page.flagged - page.handled)
      : t(`pageCount_${mode}`, page.handled, page.scored);
  if (page.budgetSpent) text += ` ${t("pageBudget", page.requests)}`;
  return [text, false];
}

function describeScorer(page, settings) {
  if (!page?.scorer) return "";
  const scorer = page.scorer === "local" ? t("scorerLocal") : t("scorerService", settings.serviceUrl);
  return page.personal ? `${scorer} ${t("scorerPersonal", page.personal)}` : scorer;
}

async function main() {
  const tab = await targetTab();
  const host = tab?.url ? new URL(tab.url).hostname : "";
  localise();
  $("host").textContent = host || t("popupThisPage");
  let settings = await loadSettings();
  let modelThreshold = null;

  const showThreshold = () => {
    const own = settings.threshold;
    $("model-threshold").checked = own === null;
    $("model-value").textContent = modelThreshold === null ? "" : `(${modelThreshold.toFixed(2)})`;
    $("threshold").disabled = own === null;
    $("threshold").value = String(own ?? modelThreshold ?? 0.5);
    $("threshold-value").textContent = Number($("threshold").value).toFixed(2);
  };

  const refreshPage = async () => {
    const page = await pageState(tab);
    if (page?.modelThreshold != null && modelThreshold === null) {
      modelThreshold = page.modelThreshold;
      showThreshold();
    }
    say($("page"), ...describePage(page, settings));
    $("scorer").textContent = describeScorer(page, settings);
    $("site-on").checked = Boolean(host) && siteEnabled(settings, host);
    $("site-on").disabled = !host;
    $("show-all").disabled = !page?.enabled;
    $("show-all").textContent = t(page?.showAll ? "popupUndoShowAll" : "popupShowAll");
    $("show-all").dataset.showAll = String(Boolean(page?.showAll));
  };

  $("site-on").addEventListener("change", async () => {
    await ext.storage.local.set(siteSwitch(settings, host, $("site-on").checked));
    settings = await loadSettings();
    refreshPage();
  });
  $("model-threshold").addEventListener("change", async () => {
    const own = $("model-threshold").checked ? null : Number($("threshold").value);
    await ext.storage.local.set({ threshold: own });
    settings = await loadSettings();
    showThreshold();
  });
  $("threshold").addEventListener("input", () => {
    $("threshold-value").textContent = Number($("threshold").value).toFixed(2);
  });
  $("threshold").addEventListener("change", async () => {
    await ext.storage.local.set({ threshold: Number($("threshold").value) });
    settings = await loadSettings();
  });
  $("show-all").addEventListener("click", async () => {
    const showAll = $("show-all").dataset.showAll !== "true";
    await ext.tabs.sendMessage(tab.id, { type: "showAll", value: showAll }).catch(() => null);
    refreshPage();
  });

  ext.storage.onChanged.addListener(async (_changes, area) => {
    if (area === "local") settings = await loadSettings(); // the options page, or another popup
  });
  showThreshold();
  await refreshPage();
  setInterval(refreshPage, REFRESH_MS);

  const info = await ext.runtime.sendMessage({ type: "info" });
  if (info.error) {
    say($("service"), info.error, true);
    return;
  }
  modelThreshold = info.threshold;
  showThreshold();
  if (!info.ready) say($("service"), t(info.scorer === "local" ? "serviceLocalLoading" : "serviceLoading", info.serviceUrl));
  else say($("service"), info.scorer === "local" ? t("serviceLocal", info.model) : t("serviceReady", info.serviceUrl, info.model));
}

main();
