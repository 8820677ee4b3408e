/* The toolbar popup: the current site's switch, what the page's content script did (or why it did
   nothing), the service's state, the threshold, and "show all" for the page. */
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

function describePage(page) {
  if (!page) return ["This page is not filtered: only http and https pages loaded after the extension are.", false];
  if (!page.enabled) return ["Off for this site: nothing is sent to the service, nothing is dimmed.", false];
  if (page.error) return [`Nothing dimmed: ${page.error}`, true];
  if (!page.headlines) return ["No headline links found on this page.", false];
  let text = `Dimmed ${page.dimmed} of ${page.scored} headlines`;
  if (page.flagged > page.dimmed) text += ` (${page.flagged - page.dimmed} flagged, shown)`;
  text += ".";
  if (page.budgetSpent) {
    text += ` Stopped after ${page.requests} requests to the service, this page's limit (options); later items are left as they are.`;
  }
  return [text, false];
}

async function main() {
  const tab = await targetTab();
  const host = tab?.url ? new URL(tab.url).hostname : "";
  $("host").textContent = host || "this page";
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
    say($("page"), ...describePage(page));
    $("site-on").checked = !settings.disabledSites.includes(host);
    $("site-on").disabled = !host;
    $("show-all").disabled = !page?.enabled;
    $("show-all").textContent = page?.showAll ? "Dim again" : "Show all on this page";
    $("show-all").dataset.showAll = String(Boolean(page?.showAll));
  };

  $("site-on").addEventListener("change", async () => {
    const others = settings.disabledSites.filter((site) => site !== host);
    await ext.storage.local.set({ disabledSites: $("site-on").checked ? others : [...others, host] });
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
  say($("service"), info.ready ? `Service ${info.serviceUrl}: model ${info.model}.` : `Service ${info.serviceUrl}: the model is still loading.`);
}

main();
