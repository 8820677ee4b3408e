"""The README's picture of the browser extension: a page laid out like the seed page (an article, its
related links and a wall of partner teasers, their Romanian headlines taken from it) in Chromium with
the extension as a new reader has it: no service set, the default model scoring in the browser at
its own threshold. Prints each teaser's badge, so what the picture shows can be checked.

Usage (repository root, Debian's Chromium installed; everything stays on 127.0.0.1):
    python -m docs.extension_screenshot [--out docs/images/extension.png]
"""

from __future__ import annotations

import argparse
import html
import re
import tempfile
from pathlib import Path

from playwright.sync_api import expect

from service.cli.extension_build import write_extension
from tests.support.extension_browser import extension_browser, static_site

RELATED = [
    "Bloomberg: UE se pregătește să LIMITEZE accesul producătorilor chinezi de dispozitive medicale",
    "Volodimir Zelenski face apel la Donald Trump să impună SANCȚIUNI mai dure Rusiei",
]
TEASERS = [
    ("Mediafax", "Report de peste 1,7 milioane de euro la Loto 6/49. Trageri speciale de Anul Nou"),
    ("Digi24", "Reacția Chinei după acuzațiile Kremlinului că ucrainenii au atacat reședința lui Putin"),
    ("Adevarul", "Cristi Borcea, ținta ironiilor pe internet. „Oameni care n-au ce face cu banii”"),
    ("Mediafax", "Vânt de până la 120 km/h! Avertizările meteorologilor, prelungite până la Revelion"),
    ("Click", "Orașul-minune al României! Nu se mai oprește din dezvoltare și a atras miliarde de euro"),
    ("Digi24", "Situație critică în tunelul de sub Canalul Mânecii. Trenurile Eurostar au fost anulate"),
    ("Ce se întâmplă doctore", "Cum arată acum Cristina Spătar! Imagini incendiare cu regina muzicii R&B!"),
    ("Ciao.ro", "Wow sau Bau? Cât de mult le-au schimbat operaţiile estetice pe vedetele din România"),
    (
        "Promotor.ro",
        "Un radar fix cu inteligență artificială a înregistrat peste 1.000 de abateri, în 4 zile",
    ),
    ("Descopera.ro", "Galerie foto de excepție cu Brigitte Bardot"),
    ("Descopera.ro", "Templul culturii din inima Bucureştiului. A fost inaugurat în urmă cu 173 de ani"),
    (
        "Cancan.ro",
        "Ninge 5 zile consecutiv, în România, de pe 1 ianuarie 2026! Meteorologii au revizuit prognoza",
    ),
]
FIRST_LOAD_MS = 180_000  # the first page loads the model (WebAssembly compiled) on a busy 2-core CPU


def news_page() -> str:
    def link(href: str, text: str) -> str:
        return f'<a href="{href}">{html.escape(text)}</a>'

    teasers = "".join(
        f'<li><a href="https://partner.example/{i}"><span class="site">{html.escape(site)}</span>'
        f"<span>{html.escape(title)}</span></a></li>"
        for i, (site, title) in enumerate(TEASERS)
    )
    related = "".join(f"<li>{link(f'/related/{i}', text)}</li>" for i, text in enumerate(RELATED))
    return f"""<!doctype html><html lang="ro"><head><meta charset="utf-8"><title>Știri externe</title>
<style>
  body {{ font: 16px/1.5 Georgia, serif; color: #222; max-width: 1120px; margin: 0 auto; padding: 0 20px; }}
  header nav {{ display: flex; gap: 20px; padding: 12px 0; font: 600 14px sans-serif;
               border-bottom: 3px solid #8b0000; }}
  header a {{ color: #8b0000; text-decoration: none; }}
  h1 {{ font-size: 26px; line-height: 1.25; margin: 18px 0 8px; }}
  article p {{ margin: 0 0 10px; }}
  a {{ color: #1a3c6e; }}
  ul {{ list-style: none; padding: 0; margin: 0; }}
  article li {{ margin: 4px 0; }}
  h2 {{ font: 700 15px sans-serif; text-transform: uppercase; margin: 18px 0 8px;
       border-bottom: 1px solid #ccc; }}
  #teasers {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px 22px; }}
  #teasers a {{ text-decoration: none; font-size: 15px; line-height: 1.35; }}
  #teasers li {{ padding: 6px 0; border-bottom: 1px solid #eee; }}
  .site {{ display: block; font: 600 11px sans-serif; color: #888; text-transform: uppercase; }}
</style></head><body>
<header><nav>{link("/", "Prima pagină")} {link("/externe", "Știri externe")} {link("/politica", "Politică")}
  {link("/economie", "Economie")} {link("/sport", "Sport")}</nav></header>
<article>
  <h1>Coreea de Nord își apără cooperarea MILITARĂ cu Rusia/ Are ca scop „asigurarea păcii și
      stabilității în regiunea eurasiatică”</h1>
  <p>Coreea de Nord și-a apărat, luni, cooperarea militară cu Rusia, argumentând că aceasta are ca scop
     „asigurarea păcii și stabilității” în Europa și Asia.</p>
  <p>Moscova și Phenianul și-au consolidat cooperarea militară în ultimii ani, Coreea de Nord furnizând
     armament și trimițând trupe în Rusia pentru a sprijini efortul de război.</p>
  <p><b>Citește și:</b></p><ul>{related}</ul>
</article>
<section><h2>Citește și</h2><ul id="teasers">{teasers}</ul></section>
</body></html>"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs/images/extension.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        extension = write_extension(root / "build", "chromium").folder
        with (
            static_site({"news.html": news_page()}) as site,
            extension_browser(extension, root / "profile", {"width": 1180, "height": 760}) as browser,
        ):
            browser.reset()  # a new reader's extension: nothing set, so no service
            page = browser.context.new_page()
            page.goto(f"{site}/news.html")
            popup = browser.popup(page)
            headlines = len(TEASERS) + len(RELATED)
            done = re.compile(rf"Dimmed (\d+) of {headlines} headlines")
            expect(popup.locator("#page")).to_have_text(done, timeout=FIRST_LOAD_MS)
            expect(popup.locator("#scorer")).to_contain_text("local model")
            summary = popup.locator("#page").text_content()
            popup.close()
            for _, title in TEASERS:
                badge = page.locator(f"#teasers a:has-text({title!r}) + clickbait-badge")
                shown = badge.locator("button").text_content() if badge.count() else "not flagged"
                print(f"{shown:>40}  {title}")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
    print(f"{summary} (the default model in the browser, its own threshold); wrote {args.out}")


if __name__ == "__main__":
    main()
