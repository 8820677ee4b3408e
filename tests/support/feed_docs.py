"""Feed and page documents the tests write: namespaces, CDATA, enclosures, non-ASCII titles."""

from __future__ import annotations

import json

from tests.support.models import TRIGGER

NEWS_TITLE = "Guvernul a adoptat bugetul pe 2026 după o lungă dezbatere"
BAIT_TITLE = f"{TRIGGER}: ce a făcut vedeta în vacanță"

RSS = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">
  <channel>
    <title>Știri de test</title>
    <link>https://news.example.ro/</link>
    <description>Un flux cu diacritice</description>
    <item>
      <title><![CDATA[{NEWS_TITLE}]]></title>
      <link>https://news.example.ro/buget</link>
      <dc:creator>Ana Popescu</dc:creator>
      <description><![CDATA[<p>Textul <b>complet</b></p>]]></description>
      <enclosure url="https://news.example.ro/a.mp3" length="1234" type="audio/mpeg"/>
      <guid isPermaLink="false">item-1</guid>
    </item>
    <item>
      <title>{BAIT_TITLE}</title>
      <link>https://farm.example.com/vedeta</link>
      <media:content url="https://farm.example.com/v.jpg" medium="image"/>
      <guid isPermaLink="false">item-2</guid>
    </item>
  </channel>
</rss>
"""

ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ro">
  <title>Atom de test</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-11-28T00:00:00Z</updated>
  <entry>
    <title type="html">{NEWS_TITLE}</title>
    <link rel="alternate" href="https://news.example.ro/buget"/>
    <id>urn:test:1</id>
    <updated>2026-11-28T00:00:00Z</updated>
    <summary>Rezumat</summary>
  </entry>
  <entry>
    <title>{BAIT_TITLE}</title>
    <link href="https://farm.example.com/vedeta"/>
    <link rel="enclosure" type="image/jpeg" href="https://farm.example.com/v.jpg"/>
    <id>urn:test:2</id>
    <updated>2026-11-28T00:00:00Z</updated>
  </entry>
</feed>
"""

RSS1 = f"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
  <channel rdf:about="https://news.example.ro/"><title>RDF</title><link>https://news.example.ro/</link>
    <description>d</description></channel>
  <item rdf:about="https://news.example.ro/buget"><title>{NEWS_TITLE}</title><link>https://news.example.ro/buget</link></item>
  <item rdf:about="https://farm.example.com/vedeta"><title>{BAIT_TITLE}</title><link>https://farm.example.com/vedeta</link></item>
</rdf:RDF>
"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON de test",
        "home_page_url": "https://news.example.ro/",
        "items": [
            {
                "id": "1",
                "url": "https://news.example.ro/buget",
                "title": NEWS_TITLE,
                "content_text": "…",
                "attachments": [{"url": "https://news.example.ro/a.mp3", "mime_type": "audio/mpeg"}],
            },
            {
                "id": "2",
                "url": "https://farm.example.com/vedeta",
                "title": BAIT_TITLE,
                "content_html": "<p>x</p>",
            },
            {"id": "3", "content_text": "an item without a title"},
        ],
    },
    ensure_ascii=False,
)

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title></channel></rss>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>x</title><item><title>&xxe;</title></item></channel></rss>"""


def rss_with_items(n: int) -> str:
    items = "".join(f"<item><title>headline number {i}</title></item>" for i in range(n))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>{items}</channel></rss>'


SEED_LIKE_PAGE = f"""<!doctype html>
<html lang="ro"><head><meta charset="utf-8"><title>Știri externe</title>
<meta property="og:title" content="Coreea de Nord își apără cooperarea MILITARĂ cu Rusia"></head>
<body>
<header><nav><a href="/">Prima pagină</a> » <a href="/externe">Știri externe în lume azi și mâine</a></nav></header>
<main>
 <article>
  <h1>Coreea de Nord își apără cooperarea MILITARĂ cu Rusia</h1>
  <p>Coreea de Nord și-a apărat, luni, cooperarea militară cu Rusia, argumentând că aceasta are ca scop
     „asigurarea păcii și stabilității” în Europa și Asia.</p>
  <p>Foto: Profimedia</p>
  <p><strong>Citește și:</strong></p>
  <p><a href="/ue-dispozitive">Bloomberg: UE se pregătește să LIMITEZE accesul producătorilor chinezi</a></p>
  <p><a href="/zelenski">Volodimir Zelenski face apel la Donald Trump să impună SANCȚIUNI mai dure</a></p>
 </article>
 <aside class="partners">
  <h3>Citește și</h3>
  <ul>
   <li><a href="https://www.mediafax.ro/loto"><span class="site">Mediafax</span>
       <span class="title">Report de peste 1,7 milioane de euro la Loto 6/49. Trageri speciale de Anul Nou</span></a></li>
   <li><a href="https://www.click.ro/oras"><span class="site">Click</span>
       <span class="title">{TRIGGER}! Orașul-minune al României nu se mai oprește din dezvoltare</span></a></li>
   <li><a href="https://www.digi24.ro/eurostar"><span class="site">Digi24</span>
       <span class="title">Situație critică în tunelul de sub Canalul Mânecii. Circulația trenurilor Eurostar a fost anulată</span></a></li>
  </ul>
 </aside>
</main>
<footer><a href="/contact">Contact și informații despre redacție</a></footer>
</body></html>
"""
