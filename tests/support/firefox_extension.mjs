// Debian's Firefox ESR with the extension's Firefox build loaded as a temporary add-on, driven over
// WebDriver BiDi by puppeteer-core (no browser download: /usr/bin/firefox-esr). tests/support/firefox.py
// runs it with one JSON argument and reads one JSON line back; the assertions live in the Python test.
//   {"extension": DIR, "page": URL, "service": URL (optional), "settle": [TEXT...], "wait_ms": N (optional)}
// It configures the service through the options page (as a reader would) if one is given, opens the
// page, waits until every headline in "settle" has a badge, and reports each link's opacity and badge
// and the popup's lines: what was handled, and who scored it.
import puppeteer from "puppeteer-core";

const FIREFOX = "/usr/bin/firefox-esr";
const request = JSON.parse(process.argv[2]);
const WAIT_MS = request.wait_ms ?? 30000;
const GECKO_ID = "clickbait-dimmer@clickbait-classifier";
const UUID = "6f1f6a2e-2c3b-4b8e-9a57-0c11cba17000"; // fixed, so the test knows moz-extension://UUID/

const { extension, page: pageUrl, service, settle } = request;
const base = `moz-extension://${UUID}`;

/** The tab showing the extension's page at ``path``. WebDriver BiDi may not navigate a tab to an
    extension page, but drives one the extension opened itself (puppeteer lists it as about:blank). */
async function extensionPage(browser, path) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    for (const page of await browser.pages()) {
      const href = await page.evaluate(() => location.href).catch(() => "");
      if (href === `${base}/${path}`) return page;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no tab showing ${path}`);
}

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: FIREFOX,
  headless: true,
  extraPrefsFirefox: {
    "extensions.webextensions.uuids": JSON.stringify({ [GECKO_ID]: UUID }),
    // the options page asks consent for data collection when a service is saved: granted, no prompt
    "extensions.webextOptionalPermissionPrompts": false,
  },
});
try {
  await browser.installExtension(extension);
  const options = await extensionPage(browser, "options.html"); // opened on install
  if (service !== undefined) {
    await options.waitForFunction(() => document.querySelector("#max-requests").value !== "");
    await options.$eval("#service-url", (input, url) => (input.value = url), service);
    await options.click("button[type=submit]");
    await options.waitForFunction(() => document.querySelector("#status").textContent !== "", { timeout: WAIT_MS });
    const saved = await options.$eval("#status", (status) => status.textContent);
    if (!saved.startsWith("Saved")) throw new Error(`options page: ${saved}`);
  }
  const page = await browser.newPage();
  await page.goto(pageUrl);
  await page.waitForFunction(
    (titles) => titles.every((title) => [...document.querySelectorAll("a + clickbait-badge")].some((b) => b.previousElementSibling.textContent.includes(title))),
    { timeout: WAIT_MS },
    settle,
  );
  const links = await page.$$eval("a", (anchors) =>
    anchors.map((a) => ({
      text: a.textContent,
      opacity: getComputedStyle(a).opacity,
      badge: a.nextElementSibling?.localName === "clickbait-badge",
    })),
  );
  const tab = await options.evaluate(async (url) => {
    const { id } = (await browser.tabs.query({})).find((t) => t.url === url);
    await browser.tabs.create({ url: `popup.html?tab=${id}` });
    return id;
  }, pageUrl);
  const popup = await extensionPage(browser, `popup.html?tab=${tab}`);
  await popup.waitForFunction(() => /\d/.test(document.querySelector("#page").textContent), { timeout: WAIT_MS });
  const popupLine = await popup.$eval("#page", (line) => line.textContent);
  const scorer = await popup.$eval("#scorer", (line) => line.textContent);
  console.log(JSON.stringify({ version: await browser.version(), links, popup: popupLine, scorer }));
} finally {
  await browser.close();
}
