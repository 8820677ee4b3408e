"""The genre sets' raw rows extracted from a checkout of each set's repository (training/genre_extract.py):
tiny snapshots in each repository's layout, the rows they give, and the files they lack named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.support.data import write_jsonl
from training import genre, genre_extract
from training.data import DataError
from training.genre import GENRE_SETS, split_by_source
from training.genre import main as genre_main
from training.genre_extract import EXTRACTORS, extract, main, slug_title

CLICKID_HEADER = ("title", "source", "date", "time", "category", "sub-category", "content", "url")


def _xlsx(path: Path, header: tuple, rows: list[tuple], other_sheet: bool = False) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    if other_sheet:  # a labelling round after the articles: never read
        book.create_sheet("labelling").append(("title", "source", "category", "label"))
        book["labelling"].append(("Judul Lain", "kompas.com", "Entertainment", 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _article(title, source, category, sub=None) -> tuple:
    return (title, source, "10-Sep-19", "23:04", category, sub, "isi", "https://x/1")


def test_uci_takes_the_first_rows_of_each_mapped_topic(tmp_path: Path, monkeypatch) -> None:
    raw = tmp_path / "rawData"
    raw.mkdir()

    def line(i: int, title: str, publisher: str, topic: str) -> str:
        return f"{i}\t{title}\thttp://x/{i}\t{publisher}\t{topic}\tstory\tx.com\t1394470370698\n"

    (raw / "xaaaaaaab.csv").write_text(line(4, "Star weds", "Gossip", "e") + line(5, "Chip", "Tech", "t"))
    (raw / "xaaaaaaaa.csv").write_text(
        line(1, "Rates rise", "Wire", "b")
        + line(2, "Sleep well", "Health", "m")
        + "\n"
        + line(3, "Bank", "W", "b")
    )
    (raw / "README.md").write_text("not a piece")
    monkeypatch.setattr(genre_extract, "UCI_PER_TOPIC", 1)
    assert extract("uci-news-aggregator", tmp_path) == [
        {"text": "Rates rise", "lang": "en", "source": "Wire", "category": "b"},  # files in name order
        {"text": "Star weds", "lang": "en", "source": "Gossip", "category": "e"},
        {"text": "Chip", "lang": "en", "source": "Tech", "category": "t"},
    ]  # health is no mapped topic; the second business row is over the cap; a blank line is skipped
    with pytest.raises(DataError, match=r"rawData: no x\*\.csv files"):
        extract("uci-news-aggregator", tmp_path / "rawData")


def test_detik_titles_once_each(tmp_path: Path) -> None:
    path = tmp_path / "data" / "raw" / "berita_detik_5_kategori.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        'JUDUL,KATEGORI\n"PPP Konflik di Ancol, Padam di Kuningan",Politik\nRaffi Pamer Mobil ,Selebritas\n'
        "Raffi Pamer Mobil,Ekonomi\n",
        encoding="utf-8-sig",
    )
    assert extract("detik-5kategori", tmp_path) == [
        {
            "text": "PPP Konflik di Ancol, Padam di Kuningan",
            "lang": "id",
            "source": "detik.com",
            "category": "Politik",
        },
        {"text": "Raffi Pamer Mobil", "lang": "id", "source": "detik.com", "category": "Selebritas"},
    ]


def _clickid(snapshot: Path) -> None:
    for name in genre_extract.CLICKID_WORKBOOKS:
        _xlsx(snapshot / "sample_articles" / f"{name}.xlsx", CLICKID_HEADER, [], other_sheet=True)
    _xlsx(
        snapshot / "sample_articles" / "kompas.xlsx",
        CLICKID_HEADER,
        [
            _article("Rupiah Menguat", " Kompas.com", "Money", "Keuangan"),
            _article("DPR Sahkan RUU", "kompas.com", "News", "Nasional"),
            _article(None, "kompas.com", "News", "Nasional"),  # no title: skipped
            _article("Banjir di Medan", "kompas.com", "News"),  # no sub-section: 'nan', as pandas wrote it
        ],
        other_sheet=True,
    )
    csv = snapshot / "raw_articles" / "csv" / "tribunnews.csv"
    csv.parent.mkdir(parents=True)
    csv.write_text(
        ",".join(CLICKID_HEADER) + "\n"
        '"Raffi Pamer Rumah, Netizen Heboh",tribunnews.com,10-Sep-19,23:04,Seleb,Seleb,"isi, panjang",https://t/1\n'
        ",tribunnews.com,10-Sep-19,23:04,Seleb,,isi,https://t/2\n"
    )


def test_clickid_sections_from_the_first_sheet_and_tribunnews_csv(tmp_path: Path) -> None:
    _clickid(tmp_path)
    rows = extract("clickid-sections", tmp_path)
    assert rows == [
        {"text": "Rupiah Menguat", "lang": "id", "source": "kompas.com", "category": "kompas.com/Money"},
        {
            "text": "DPR Sahkan RUU",
            "lang": "id",
            "source": "kompas.com",
            "category": "kompas.com/News/Nasional",
        },
        {"text": "Banjir di Medan", "lang": "id", "source": "kompas.com", "category": "kompas.com/News/nan"},
        {
            "text": "Raffi Pamer Rumah, Netizen Heboh",
            "lang": "id",
            "source": "tribunnews.com",
            "category": "tribunnews.com/Seleb",
        },
    ]
    (tmp_path / "sample_articles" / "tempo.xlsx").unlink()
    with pytest.raises(DataError, match=r"sample_articles/tempo\.xlsx: no such file"):
        extract("clickid-sections", tmp_path)


def test_spanish_true_rows_by_topic(tmp_path: Path) -> None:
    header = ("Id", "Category", "Topic", "Source", "Headline", "Text", "Link")
    _xlsx(
        tmp_path / "train.xlsx",
        header,
        [
            (1, "Fake", "Entertainment", "El Ruinaversal", "FALSO", "t", "http://f"),
            (2, "True", "Politics", " El Universal ", "El Senado aprueba la reforma", "t", "http://u"),
        ],
    )
    _xlsx(
        tmp_path / "development.xlsx",
        header,
        [(1, "True", "Entertainment", "Excelsior", "Martha Higareda estrena serie", "t", "http://e")],
    )
    assert extract("fakenews-es-topics", tmp_path) == [
        {
            "text": "El Senado aprueba la reforma",
            "lang": "es",
            "source": "el universal",
            "category": "Politics",
        },
        {
            "text": "Martha Higareda estrena serie",
            "lang": "es",
            "source": "excelsior",
            "category": "Entertainment",
        },
    ]
    _xlsx(tmp_path / "development.xlsx", header[:2], [(1, "True")])
    with pytest.raises(DataError, match=r"development\.xlsx: no column 'Topic', 'Source', 'Headline'"):
        extract("fakenews-es-topics", tmp_path)
    (tmp_path / "development.xlsx").write_text("not a workbook")
    with pytest.raises(DataError, match=r"development\.xlsx: not a readable \.xlsx workbook"):
        extract("fakenews-es-topics", tmp_path)


def test_turkish_outlets_first_rows_of_the_shared_copy(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(genre_extract, "TR_PER_OUTLET", 1)
    shared = write_jsonl(
        tmp_path / "tr-clickbaittr.jsonl",
        [
            {"text": "Sizi şok edecek", "label": "clickbait", "lang": "tr", "source": "onedio"},
            {"text": "Meclis bütçeyi onayladı", "label": "news", "lang": "tr", "source": "evrensel"},
            {"text": "İkinci haber", "label": "news", "lang": "tr", "source": "evrensel"},
            {"text": "Dolar yükseldi", "label": "news", "lang": "tr", "source": "diken"},
        ],
    )
    assert extract("clickbaittr-news-outlets", shared) == [
        {"text": "Meclis bütçeyi onayladı", "lang": "tr", "source": "evrensel", "category": None},
        {"text": "Dolar yükseldi", "lang": "tr", "source": "diken", "category": None},
    ]
    shared.write_text('{"text": "a", "lang": "tr", "source": "diken"}\n{"text": "no source"}\n')
    with pytest.raises(DataError, match=r"tr-clickbaittr\.jsonl:2: expected an object"):
        extract("clickbaittr-news-outlets", shared)


def test_romanian_titles_from_url_slugs(tmp_path: Path) -> None:
    assert (
        slug_title("https://www.tabu.ro/3-lucruri-pe-care-trebuie-sa-le-faci/")
        == "lucruri pe care trebuie sa le faci"
    )
    assert slug_title("http://x.ro/Medical/efectele-poluarii-aerului-asupra-sanatatii_15907") == (
        "efectele poluarii aerului asupra sanatatii"
    )
    assert slug_title("http://x.ro/vedete-la-plaja-in-costum/index.html") == "vedete la plaja in costum"
    assert slug_title("http://x.ro/stiri/politic/123456") is None  # the id is skipped: a section is left
    (tmp_path / "ro_index.csv").write_text(
        "ID,URL,CATEGORY,SENTIMENT\n"
        "1,https://www.Tabu.ro/3-lucruri-pe-care-trebuie-sa-le-faci/,Monden ,Negative\n"
        "2,http://stirile.ro/politic/,Politic,Neutral\n"
        "3,https://alt.ro/lucruri-pe-care-trebuie-sa-le-faci,Politic,Neutral\n"
        "4,http://zf.ro/bursa/bvb-a-inchis-pe-crestere-12345/amp,Economic,Neutral\n"
    )
    assert extract("ro-catweb", tmp_path) == [
        {
            "text": "lucruri pe care trebuie sa le faci",
            "lang": "ro",
            "source": "tabu.ro",
            "category": "Monden",
        },
        {"text": "bvb a inchis pe crestere", "lang": "ro", "source": "zf.ro", "category": "Economic"},
    ]  # a section page has no title; the same title on another site is kept once


def test_romanian_outlets_titles_once_across_outlets(tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    for name, _ in genre_extract.RO_NEWS_OUTLETS:
        (datasets / f"news_{name}.json").write_text("[]")
    (datasets / "news_realitatea.json").write_text(
        json.dumps([{"title": " Guvernul  a adoptat\nbugetul "}, {}])
    )
    (datasets / "news_digi.json").write_text(
        json.dumps([{"title": "Guvernul a adoptat bugetul"}, {"title": "BNR menține dobânda", "url": "u"}])
    )
    (datasets / "news_evz.json").write_text(json.dumps([{"title": "Vedeta la plajă"}]))  # not a mapped outlet
    assert extract("ro-news-outlets", tmp_path) == [
        {"text": "Guvernul a adoptat bugetul", "lang": "ro", "source": "realitatea.net", "category": None},
        {"text": "BNR menține dobânda", "lang": "ro", "source": "digi24.ro", "category": None},
    ]
    (datasets / "news_zf.json").write_text("[{")
    with pytest.raises(DataError, match=r"news_zf\.json: not valid JSON"):
        extract("ro-news-outlets", tmp_path)
    (datasets / "news_cotidianul.json").unlink()
    with pytest.raises(DataError, match=r"datasets/news_cotidianul\.json: no such file"):
        extract("ro-news-outlets", tmp_path)


def test_every_set_has_an_extractor_and_unknown_names_or_snapshots_are_named(tmp_path: Path) -> None:
    assert EXTRACTORS.keys() == GENRE_SETS.keys()
    with pytest.raises(DataError, match="no genre set named 'nope'"):
        extract("nope", tmp_path)
    with pytest.raises(DataError, match="elsewhere: no such file or directory"):
        extract("ro-catweb", tmp_path / "elsewhere")
    with pytest.raises(DataError, match=r"ro_index\.csv: no such file"):
        extract("ro-catweb", tmp_path)


def test_extract_then_map_with_the_sets_own_heldout_share(tmp_path: Path, capsys, monkeypatch) -> None:
    snapshot = tmp_path / "snapshot"
    _clickid(snapshot)
    raw = tmp_path / "raw.jsonl"
    main(["clickid-sections", str(snapshot), "--out", str(raw)])
    assert "raw.jsonl: 4 rows" in capsys.readouterr().out
    assert json.loads(raw.read_text(encoding="utf-8").splitlines()[0]) == {
        "text": "Rupiah Menguat",
        "lang": "id",
        "source": "kompas.com",
        "category": "kompas.com/Money",
    }
    shares = []

    def split(rows: list[dict], share: float) -> tuple[list[dict], list[dict]]:
        shares.append(share)
        return split_by_source(rows, share)

    monkeypatch.setattr(genre, "split_by_source", split)
    out, held = tmp_path / "g.jsonl", tmp_path / "h.jsonl"
    genre_main(["clickid-sections", str(raw), "--out", str(out), "--heldout", str(held)])
    genre_main(
        ["clickid-sections", str(raw), "--out", str(out), "--heldout", str(held), "--heldout-share", "0.2"]
    )
    assert shares == [0.5, 0.2]  # the set's own share unless one is given
    texts = [json.loads(line)["text"] for path in (out, held) for line in path.read_text().splitlines()]
    assert sorted(texts) == ["DPR Sahkan RUU", "Raffi Pamer Rumah, Netizen Heboh", "Rupiah Menguat"]
    with pytest.raises(SystemExit):  # an evaluation-only set has no share of its own
        genre_main(["ro-catweb", str(raw), "--out", str(out), "--heldout", str(held)])
    assert "ro-catweb is an evaluation-only set" in capsys.readouterr().err
