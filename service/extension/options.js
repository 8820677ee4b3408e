/* The options page: what a teaser gets (dim, blur, hide), on which sites, the optional service
   (where it is, its key, how much one page may ask of it), and the reader's own filter (the
   personal layer their labels teach in this browser: on or off, and "forget my labels"). It opens
   when the extension is installed: its first lines say what is sent where. */
"use strict";

const $ = (id) => document.getElementById(id);

function say(text, problem = false) {
  $("status").textContent = text;
  $("status").classList.toggle("problem", problem);
}

function hosts(text) {
  return [...new Set(text.split(/\s+/).map((line) => line.trim().toLowerCase()).filter(Boolean))];
}

async function fill() {
  const settings = await loadSettings();
  $("mode").value = settings.mode;
  $("only-listed").checked = settings.onlyListedSites;
  $("listed-sites").value = settings.listedSites.join("\n");
  $("service-url").value = settings.serviceUrl;
  $("api-key").value = settings.apiKey;
  $("max-requests").value = String(settings.maxRequestsPerPage);
  $("dim-unvalidated").checked = settings.dimUnvalidated;
  $("personal-layer").checked = settings.personalLayer;
}

/** The reader's yes to sending to ``serviceUrl``: the host permission to reach it (this machine's
    is granted at install), and in Firefox the consent to the data it is sent (DATA_SENT_TO_SERVICE).
    Asked before any await: browsers take the request only while the reader's click is handled, and
    answer at once what was granted already. */
function permitted(serviceUrl) {
  const { protocol, hostname } = new URL(serviceUrl);
  const wanted = { origins: [`${protocol}//${hostname}/*`] }; // any port: match patterns name hosts, not ports
  if (FIREFOX) wanted.data_collection = DATA_SENT_TO_SERVICE;
  return ext.permissions.request(wanted);
}

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const typed = $("service-url").value.trim();
  const serviceUrl = typed ? normaliseServiceUrl(typed) : "";
  if (serviceUrl === null) {
    say(t("optionsBadUrl"), true);
    return;
  }
  const asked = serviceUrl ? permitted(serviceUrl).catch(() => false) : true;
  if (!(await asked)) {
    say(t("optionsNotPermitted", new URL(serviceUrl).origin), true);
    return;
  }
  await ext.storage.local.set({
    mode: $("mode").value,
    onlyListedSites: $("only-listed").checked,
    listedSites: hosts($("listed-sites").value),
    serviceUrl,
    apiKey: $("api-key").value.trim(),
    maxRequestsPerPage: Number($("max-requests").value),
    dimUnvalidated: $("dim-unvalidated").checked,
    personalLayer: $("personal-layer").checked,
  });
  await fill();
  say(t("optionsSaved"));
});

$("forget-labels").addEventListener("click", async () => {
  const reply = await ext.runtime.sendMessage({ type: "forget" });
  if (reply?.error) say(reply.error, true);
  else say(t("optionsForgotten"));
});

$("check").addEventListener("click", async () => {
  const info = await ext.runtime.sendMessage({ type: "info" });
  if (info.error) say(info.error, true);
  else if (info.scorer === "local") say(t("serviceLocal", info.model ?? "…"));
  else say(t("optionsServiceAnswers", info.serviceUrl, info.model ?? "…", info.threshold ?? "…"));
});

localise();
fill();
