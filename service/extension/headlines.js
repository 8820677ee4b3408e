/* Which elements of a live page are headlines: the same rules as the service's page reader
   (service/page.py), so that `clickbait page` and the extension pick the same link texts.
   A link counts when its text has MIN_WORDS words or more and it is not inside navigation, a
   header, a footer or a form; inside the article it is a related link, outside it only when its
   block (list, box) holds MIN_BLOCK_LINKS such links or more. The page's own headline and body
   text are not links and are never picked. tests/service/test_extension.py checks the two agree. */
"use strict";

const MIN_WORDS = 4;
const MIN_BLOCK_LINKS = 2;
const SKIPPED_SELECTOR = "nav, header, footer, script, style, noscript, form";
const GROUPING_TAGS = new Set(["LI", "SPAN", "P", "H2", "H3", "H4", "STRONG", "EM"]);

function collapseSpaces(text) {
  return text.split(/\s+/).filter(Boolean).join(" ");
}

/** An anchor holding a site name and a title in separate elements: the longer part is the headline. */
function linkText(anchor) {
  const parts = Array.from(anchor.children, (child) => collapseSpaces(child.textContent)).filter(Boolean);
  if (parts.length >= 2) return parts.reduce((a, b) => (b.length > a.length ? b : a));
  return collapseSpaces(anchor.textContent);
}

function isVisible(element) {
  return element.checkVisibility ? element.checkVisibility({ visibilityProperty: true }) : element.getClientRects().length > 0;
}

/** [{element, text}] for every visible headline link of the document, block by block. */
function findHeadlines(root = document) {
  const article = root.querySelector("article") || root.querySelector("main");
  const blocks = new Map();
  for (const anchor of root.querySelectorAll("a[href]")) {
    if (anchor.parentElement?.closest(SKIPPED_SELECTOR)) continue;
    const text = linkText(anchor);
    if (text.split(" ").length < MIN_WORDS) continue;
    let block = anchor.parentElement;
    while (block && GROUPING_TAGS.has(block.tagName)) block = block.parentElement; // the list or box holding it
    if (!blocks.has(block)) blocks.set(block, []);
    blocks.get(block).push({ element: anchor, text });
  }
  const found = [];
  for (const links of blocks.values()) {
    for (const link of links) {
      const related = article?.contains(link.element) && !link.element.parentElement.closest("aside");
      if ((related || links.length >= MIN_BLOCK_LINKS) && isVisible(link.element)) found.push(link);
    }
  }
  return found;
}
