"""Raw rows of the genre sets (``training/genre.py``), read from a checkout of each set's repository.

    python -m training.genre_extract uci-news-aggregator SNAPSHOT --out en-uci-news-aggregator.jsonl
    python -m training.genre uci-news-aggregator en-uci-news-aggregator.jsonl \\
        --out en-uci-genre.jsonl --heldout en-uci-genre-heldout.jsonl

SNAPSHOT is a checkout of the set's repository at its ``GENRE_SETS`` commit (for
``clickbaittr-news-outlets``: the project's copy, ``../shared/data/tr-clickbaittr.jsonl``). Each
function below reads the files of one set, in a fixed order, and yields rows ``{"text", "lang",
"source", "category"}`` in the order of those files; which rows it takes is written next to it. A
missing or malformed file is a ``DataError`` that names it.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from training.data import DataError
from training.genre import GENRE_SETS

UCI_PER_TOPIC = 10_000  # the first rows of each mapped topic, in file order
UCI_TOPICS = ("e", "b", "t")  # entertainment, business, science & technology (health is left out)
# CLICK-ID: these sample workbooks (first sheet: the outlet's own articles; the others hold its
# labelling rounds) and tribunnews' raw CSV. The genre files (../data/genre) were built from them; the
# other four workbooks (detikNews, liputan6, republika_new, tribunnews) were not in the snapshot
# read, and the mapping names none of those outlets but tribunnews, read here from its CSV.
CLICKID_WORKBOOKS = (
    "fimela_combined",
    "kapanlagi",
    "kompas",
    "okezone",
    "pos_metro",
    "sindonews",
    "tempo",
    "wowkeren_new",
)
CLICKID_CSV = "raw_articles/csv/tribunnews.csv"
# sections that mix genres: their sub-section is part of the category
CLICKID_SUB_SECTIONS = frozenset(
    {("kompas.com", "News"), ("okezone.com", "News"), ("sindonews.com", "Lifestyle")}
)
FAKENEWS_ES_FILES = ("train.xlsx", "development.xlsx")  # test.xlsx has no topics
TR_PER_OUTLET = 2_500  # the first rows of each outlet in the project's copy
TR_OUTLETS = ("evrensel", "diken")
RO_CATWEB_MIN_WORDS = 4  # a slug of fewer words is a section or an id, not a title
RO_CATWEB_GENERIC = frozenset({"index", "default", "amp", "article", "articol", "stiri", "news"})
RO_NEWS_OUTLETS = (  # datasets/news_<file>.json -> the outlet's domain, in this order
    ("realitatea", "realitatea.net"),
    ("aleph", "alephnews.ro"),
    ("protv", "stirileprotv.ro"),
    ("digi", "digi24.ro"),
    ("zf", "zf.ro"),
    ("mediafax", "mediafax.ro"),
    ("cotidianul", "cotidianul.ro"),
)
RO_NEWS_BUILT_FROM = {  # the commit of each outlet's file the shipped ro-news-outlets.jsonl read
    "realitatea": "a211fcb",
    "aleph": "a211fcb",
    "protv": "22edcbb",
    "digi": "24a551a",
    "zf": "272de1a",
    "mediafax": "22edcbb",
    "cotidianul": "4264608",
}


def _row(text: str, lang: str, source: str, category: str | None) -> dict:
    return {"text": text, "lang": lang, "source": source, "category": category}


def _file(snapshot: Path, relative: str) -> Path:
    path = snapshot / relative
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return path


def _cell(value: object) -> str:
    """A cell as text: an empty cell is 'nan' and a whole number has no '.0', as pandas writes them."""
    if value is None:
        return "nan"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sheet(path: Path, columns: tuple[str, ...]) -> Iterator[dict]:
    """The first sheet's rows as dicts by its header row; ``columns`` must be there."""
    from openpyxl import load_workbook  # the train extra

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a zip, XML or format error: whichever, the file is not a workbook
        raise DataError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(name).strip() if name is not None else "" for name in next(rows, ())]
        missing = [name for name in columns if name not in header]
        if missing:
            raise DataError(f"{path}: no column {', '.join(map(repr, missing))} in its first sheet")
        for values in rows:
            yield dict(zip(header, values, strict=False))
    finally:
        book.close()


def _csv(path: Path, columns: tuple[str, ...], encoding: str = "utf-8") -> Iterator[dict]:
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in columns if name not in (reader.fieldnames or ())]
        if missing:
            raise DataError(f"{path}: no column {', '.join(map(repr, missing))}")
        yield from reader


def uci_news_aggregator(snapshot: Path) -> Iterator[dict]:
    """``rawData/x*.csv`` in name order (newsCorpora.csv cut in pieces, tab-separated: id, title,
    url, publisher, category, story, hostname, timestamp): the first ``UCI_PER_TOPIC`` rows of each
    of ``UCI_TOPICS``; source = the publisher. Lines without the eight fields are skipped."""
    folder = snapshot / "rawData"
    paths = sorted(folder.glob("x*.csv"))
    if not paths:
        raise DataError(f"{folder}: no x*.csv files")
    taken = dict.fromkeys(UCI_TOPICS, 0)
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                fields = line.rstrip("\n").split("\t")
                if len(fields) != 8:
                    continue
                topic = fields[4]
                if topic not in taken or taken[topic] >= UCI_PER_TOPIC:
                    continue
                taken[topic] += 1
                yield _row(fields[1], "en", fields[3], topic)


def detik_5kategori(snapshot: Path) -> Iterator[dict]:
    """``data/raw/berita_detik_5_kategori.csv`` (JUDUL, KATEGORI): every title once (its first
    row), category = the channel."""
    seen: set[str] = set()
    for record in _csv(
        _file(snapshot, "data/raw/berita_detik_5_kategori.csv"), ("JUDUL", "KATEGORI"), "utf-8-sig"
    ):
        title = record["JUDUL"].strip()
        if title and title not in seen:
            seen.add(title)
            yield _row(title, "id", "detik.com", record["KATEGORI"])


def _clickid_row(record: dict) -> dict | None:
    title = record["title"]
    if not isinstance(title, str):
        return None  # an empty or numeric cell
    source = _cell(record["source"]).strip().lower()
    section = _cell(record["category"]).strip()
    category = f"{source}/{section}"
    if (source, section) in CLICKID_SUB_SECTIONS:
        category += "/" + _cell(record.get("sub-category")).strip()
    return _row(title, "id", source, category)


def clickid_sections(snapshot: Path) -> Iterator[dict]:
    """The first sheet of ``sample_articles/<outlet>.xlsx`` for each of ``CLICKID_WORKBOOKS``, then
    ``raw_articles/csv/tribunnews.csv`` (title, source, category, sub-category): source = the
    outlet lower-cased, category = "outlet/section", "/sub-section" added for
    ``CLICKID_SUB_SECTIONS``. Rows without a title are skipped."""
    columns = ("title", "source", "category", "sub-category")
    paths = [_file(snapshot, f"sample_articles/{name}.xlsx") for name in CLICKID_WORKBOOKS]
    tribun = _file(snapshot, CLICKID_CSV)
    for path in paths:
        for record in _sheet(path, columns):
            if (row := _clickid_row(record)) is not None:
                yield row
    for record in _csv(tribun, columns):
        # a CSV cell is text: an empty one is what an empty workbook cell is
        record = {key: value if value != "" else None for key, value in record.items()}
        if (row := _clickid_row(record)) is not None:
            yield row


def fakenews_es_topics(snapshot: Path) -> Iterator[dict]:
    """``train.xlsx`` then ``development.xlsx`` (Category, Topic, Source, Headline): the rows whose
    Category is True (news the authors verified), source lower-cased, category = the topic."""
    columns = ("Category", "Topic", "Source", "Headline")
    paths = [_file(snapshot, name) for name in FAKENEWS_ES_FILES]
    for path in paths:
        for number, record in enumerate(_sheet(path, columns), 2):
            if record["Category"] != "True":
                continue
            if not isinstance(record["Headline"], str):
                raise DataError(f"{path}: row {number}: no Headline text")
            yield _row(record["Headline"], "es", _cell(record["Source"]).strip().lower(), record["Topic"])


def clickbaittr_news_outlets(snapshot: Path) -> Iterator[dict]:
    """The project's copy of the Turkish set (a JSONL file, not a checkout): the first
    ``TR_PER_OUTLET`` rows of each of ``TR_OUTLETS``; no category (the mapping reads the source)."""
    if not snapshot.is_file():
        raise DataError(f"{snapshot}: no such file")
    taken = dict.fromkeys(TR_OUTLETS, 0)
    with snapshot.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                source, text, lang = record["source"], record["text"], record["lang"]
            except (json.JSONDecodeError, TypeError, KeyError) as exc:
                raise DataError(
                    f"{snapshot}:{number}: expected an object with text, lang and source"
                ) from exc
            if source in taken and taken[source] < TR_PER_OUTLET:
                taken[source] += 1
                yield _row(text, lang, source, None)


def _slug_words(segment: str) -> list[str]:
    stem = re.sub(r"\.(html?|php|aspx?|htm)$", "", segment, flags=re.I)
    words = [word for word in re.split(r"[-_+\s]+", stem) if word]
    while words and re.fullmatch(r"\d+", words[-1]):
        words.pop()  # a trailing article id
    while words and re.fullmatch(r"\d+", words[0]):
        words.pop(0)
    return [word.lower() for word in words]


def slug_title(url: str, min_words: int = RO_CATWEB_MIN_WORDS) -> str | None:
    """A page's title from its URL: the last path segment that is not an id or a generic name
    ('index', 'amp', ...), its words lower-cased; None when it has fewer than ``min_words`` words
    with a letter."""
    segments = [segment for segment in unquote(urlsplit(url.strip()).path).split("/") if segment]
    for segment in reversed(segments):
        words = _slug_words(segment)
        if not words or (len(words) == 1 and words[0] in RO_CATWEB_GENERIC):
            continue
        if sum(bool(re.search(r"[a-z]", word)) for word in words) >= min_words:
            return " ".join(words)
        return None
    return None


def ro_catweb(snapshot: Path) -> Iterator[dict]:
    """``ro_index.csv`` (URL, CATEGORY): a title rebuilt from each URL's slug (``slug_title``),
    every title once (its first row); source = the host without 'www.'."""
    seen: set[str] = set()
    for record in _csv(_file(snapshot, "ro_index.csv"), ("URL", "CATEGORY")):
        title = slug_title(record["URL"])
        if not title or title in seen:
            continue
        seen.add(title)
        host = urlsplit(record["URL"].strip()).netloc.lower().removeprefix("www.")
        yield _row(title, "ro", host, record["CATEGORY"].strip())


def ro_news_outlets(snapshot: Path) -> Iterator[dict]:
    """``datasets/news_<file>.json`` (a list of articles with a title) for each of
    ``RO_NEWS_OUTLETS``, in that order: titles with their whitespace collapsed, each once across
    outlets (its first outlet); source = the outlet's domain.

    The genre files (../data/genre) were built from realitatea and aleph at a211fcb and the other
    five at the newest commit whose copy the snapshot held (``RO_NEWS_BUILT_FROM``; a211fcb's own
    copies of those five are larger and were not in it): put those in one ``datasets/`` folder to
    rebuild them exactly (docs/teasers.md)."""
    paths = [_file(snapshot, f"datasets/news_{name}.json") for name, _ in RO_NEWS_OUTLETS]
    seen: set[str] = set()
    for path, (_, outlet) in zip(paths, RO_NEWS_OUTLETS, strict=True):
        try:
            articles = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(articles, list) or not all(isinstance(a, dict) for a in articles):
            raise DataError(f"{path}: expected a list of articles")
        for article in articles:
            title = " ".join(str(article.get("title") or "").split())
            if title and title not in seen:
                seen.add(title)
                yield _row(title, "ro", outlet, None)


EXTRACTORS: dict[str, Callable[[Path], Iterator[dict]]] = {
    "uci-news-aggregator": uci_news_aggregator,
    "detik-5kategori": detik_5kategori,
    "clickid-sections": clickid_sections,
    "fakenews-es-topics": fakenews_es_topics,
    "clickbaittr-news-outlets": clickbaittr_news_outlets,
    "ro-catweb": ro_catweb,
    "ro-news-outlets": ro_news_outlets,
}
assert EXTRACTORS.keys() == GENRE_SETS.keys(), "one extractor per genre set"


def extract(name: str, snapshot: Path) -> list[dict]:
    """The set's raw rows, read from ``snapshot``."""
    if name not in EXTRACTORS:
        raise DataError(f"no genre set named {name!r} (known: {', '.join(sorted(EXTRACTORS))})")
    if not snapshot.exists():
        raise DataError(f"{snapshot}: no such file or directory")
    return list(EXTRACTORS[name](snapshot))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(EXTRACTORS))
    parser.add_argument("snapshot", type=Path, help="a checkout of the set's repository at its commit")
    parser.add_argument("--out", type=Path, required=True, help="the raw rows, one JSON object a line")
    args = parser.parse_args(argv)
    rows = extract(args.name, args.snapshot)
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(rows)} rows")


if __name__ == "__main__":
    main()
