/* The options page: where the service is, its key, and how much one page may ask of it. */
"use strict";

const $ = (id) => document.getElementById(id);

function say(text, problem = false) {
  $("status").textContent = text;
  $("status").classList.toggle("problem", problem);
}

async function fill() {
  const settings = await loadSettings();
  $("service-url").value = settings.serviceUrl;
  $("api-key").value = settings.apiKey;
  $("max-requests").value = String(settings.maxRequestsPerPage);
  $("dim-unvalidated").checked = settings.dimUnvalidated;
}

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const serviceUrl = normaliseServiceUrl($("service-url").value);
  if (!serviceUrl) {
    say("The service address must be an https:// URL, or http:// on this machine (127.0.0.1 or localhost).", true);
    return;
  }
  // the extension reaches this machine's service by default; another host only once the reader grants it
  const { protocol, hostname } = new URL(serviceUrl);
  const origin = `${protocol}//${hostname}/*`; // any port: match patterns name hosts, not ports
  if (!(await ext.permissions.contains({ origins: [origin] })) && !(await ext.permissions.request({ origins: [origin] }))) {
    say(`Not saved: the extension needs your permission to reach ${new URL(serviceUrl).origin}.`, true);
    return;
  }
  await ext.storage.local.set({
    serviceUrl,
    apiKey: $("api-key").value.trim(),
    maxRequestsPerPage: Number($("max-requests").value),
    dimUnvalidated: $("dim-unvalidated").checked,
  });
  await fill();
  say("Saved.");
});

$("check").addEventListener("click", async () => {
  const info = await ext.runtime.sendMessage({ type: "info" });
  if (info.error) say(info.error, true);
  else say(`${info.serviceUrl} answers: model ${info.model ?? "still loading"}, threshold ${info.threshold ?? "not known yet"}.`);
});

fill();
