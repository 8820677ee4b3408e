"""Pages the extension's tests open (Chromium and Firefox): a teaser wall whose headlines are far
from the default model's threshold either way, so a test reads the real model's decisions."""

from __future__ import annotations

from urllib.parse import quote

TEASERS = [
    "You won't believe what this famous actress looks like today",
    "10 photos of celebrity homes that will make your jaw drop",
    "This simple trick doctors don't want you to know",
    "Cum arată acum fosta prezentatoare TV. Fanii nu au recunoscut-o",
]
NEWS = [
    "Parliament approves the 2027 state budget after a two-day debate",
    "Guvernul a aprobat bugetul de stat pentru anul viitor",
    "Central bank holds interest rate at 6.5 percent",
    "EU foreign ministers meet in Brussels to discuss sanctions",
]
NAVIGATION = ["Front page", "World news", "Subscribe to our newsletter"]


def teaser(site: str, title: str) -> str:
    return f'<li><a href="https://partner.example/{quote(title)}"><span>{site}</span><span>{title}</span></a></li>'


# A news page as the seed page lays one out: navigation, an article with related links, a sidebar
# wall of partner teasers mixed with plain news.
TEASER_WALL = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News</title></head>
<body>
<header><nav><a href="/">{NAVIGATION[0]}</a> <a href="/world">{NAVIGATION[1]}</a></nav></header>
<main>
<article>
  <h1>Budget passes after a long night in parliament</h1>
  <p>The chamber voted late on Thursday, the speaker said.</p>
  <ul><li><a href="/eu">{NEWS[3]}</a></li><li><a href="/rates">{NEWS[2]}</a></li></ul>
</article>
<aside><h2>Read also</h2>
  <ul>
    {teaser("Cancan", TEASERS[0])}{teaser("Mediafax", NEWS[0])}{teaser("Click", TEASERS[1])}
    {teaser("Digi24", NEWS[1])}{teaser("Ciao", TEASERS[2])}{teaser("Libertatea", TEASERS[3])}
  </ul>
</aside>
</main>
<footer><a href="/subscribe">{NAVIGATION[2]}</a></footer>
</body></html>
"""
