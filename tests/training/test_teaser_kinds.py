"""The teaser definition in data and model: genre sets mapped to labels and kinds, the kind heads
fitted beside the teaser head, and the answers that carry them (docs/teasers.md)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from classifier.scorer import Scorer, calibrated, default_model_dir
from classifier.settings import ClassifierSettings
from service.cli import main
from tests.support.data import CLICKBAIT, NEWS, write_jsonl
from training.config import TrainConfig
from training.data import DataError, Example, read_file
from training.genre import main as genre_main
from training.genre import map_rows, read_raw, split_by_source
from training.kinds import KIND_NAMES, has_kinds, kind_target
from training.sources import data_licence
from training.trainer import train

RECIPE = Path(__file__).parents[2] / "training" / "configs" / "teaser.toml"


def test_uci_categories_map_to_kinds_and_leaks_are_cut() -> None:
    rows = [
        {"text": "Star shows off her new mansion ...", "category": "e", "lang": "en", "source": "Gossip"},
        {
            "text": "Shares fall as the central bank raises rates",
            "category": "b",
            "lang": "en",
            "source": "Wire",
        },
        {"text": "New chip doubles battery life", "category": "t", "lang": "en", "source": "Tech"},
        {"text": "Five habits of healthy sleepers", "category": "m", "lang": "en", "source": "Health"},
    ]
    mapped = list(map_rows("uci-news-aggregator", rows))
    assert [(r["label"], r["kind"]) for r in mapped] == [
        ("clickbait", "tabloid"),
        ("news", "news"),
        ("news", "news"),
    ]  # health is neither: dropped, never read as news
    assert mapped[0]["text"] == "Star shows off her new mansion"  # the aggregator's " ..." leaked the genre
    outlets = [
        {"text": "Guvernul a adoptat bugetul", "source": "digi24.ro"},
        {"text": "x", "source": "evz.ro"},
    ]
    assert [r["kind"] for r in map_rows("ro-news-outlets", outlets)] == ["news"]


def test_indonesian_sections_map_by_outlet_and_section() -> None:
    rows = [
        {
            "text": "Raffi Ahmad Pamer Rumah Baru",
            "category": "kapanlagi.com/SELEBRITI",
            "source": "kapanlagi.com",
        },
        {"text": "DPR Sahkan RUU APBN", "category": "wowkeren.com/Nasional", "source": "wowkeren.com"},
        {"text": "Rupiah Menguat Sore Ini", "category": "kompas.com/Money", "source": "kompas.com"},
        {"text": "Lagu Baru Isyana", "category": "sindonews.com/Lifestyle/music", "source": "sindonews.com"},
        {"text": "Tips Diet Sehat", "category": "sindonews.com/Lifestyle/health", "source": "sindonews.com"},
        {"text": "Banjir di Medan", "category": "kompas.com/News/Regional", "source": "kompas.com"},
    ]
    assert [r["kind"] for r in map_rows("clickid-sections", rows)] == ["tabloid", "news", "news", "tabloid"]
    # a celebrity outlet's politics desk is news; health tips and regional news are left out
    spanish = [
        {
            "text": "Martha Higareda presenta su nueva serie",
            "category": "Entertainment",
            "source": "eluniversal",
        },
        {"text": "El Senado aprueba la reforma fiscal", "category": "Politics", "source": "elpais"},
        {"text": "Cinco consejos para dormir mejor", "category": "Health", "source": "huffpost"},
    ]
    assert [r["kind"] for r in map_rows("fakenews-es-topics", spanish)] == ["tabloid", "news"]
    turkish = [
        {"text": "Meclis bütçeyi kabul etti", "source": "diken"},
        {"text": "Yutulan sakız kaç sene midede kalıyor?", "source": "limon"},
    ]
    assert [
        (r["kind"], r["lang"])
        for r in map_rows("clickbaittr-news-outlets", [{**r, "lang": "tr"} for r in turkish])
    ] == [("news", "tr")]  # the clickbait account is no outlet of the genre: dropped


def test_bad_or_missing_source_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no-such.jsonl: no such file"):
        read_raw(tmp_path / "no-such.jsonl")
    broken = tmp_path / "raw.jsonl"
    broken.write_text('{"text": "a", "category": "e"}\n{not json\n')
    with pytest.raises(DataError, match=r"raw.jsonl:2: not valid JSON"):
        read_raw(broken)
    with pytest.raises(DataError, match="no genre mapping named 'nope'"):
        list(map_rows("nope", []))
    with pytest.raises(DataError, match=r"raw:1: expected an object"):
        list(map_rows("uci-news-aggregator", [{"title": "no text"}], "raw"))


def test_held_out_outlets_stay_whole(tmp_path: Path) -> None:
    rows = [{"text": f"headline {i}", "source": f"outlet{i % 40}"} for i in range(2000)]
    kept, held = split_by_source(rows, 0.2)
    assert not {r["source"] for r in kept} & {r["source"] for r in held}
    assert 0.05 < len(held) / len(rows) < 0.4
    raw = write_jsonl(
        tmp_path / "raw.jsonl",
        [{**r, "category": "e" if i % 2 else "b", "lang": "en"} for i, r in enumerate(rows)],
    )
    genre_main(
        [
            "uci-news-aggregator",
            str(raw),
            "--out",
            str(tmp_path / "train.jsonl"),
            "--heldout",
            str(tmp_path / "held.jsonl"),
        ]
    )
    trained = read_file(tmp_path / "train.jsonl")
    assert {e.kind for e in trained} == {"tabloid", "news"} and all(e.lang == "en" for e in trained)


def test_a_kind_must_fit_its_label(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", [{"text": "a", "label": "news", "kind": "tabloid"}])
    with pytest.raises(DataError, match=r"rows.jsonl:1: kind 'tabloid' does not fit label 'news'"):
        read_file(path)


def test_which_rows_teach_which_kind() -> None:
    def row(label: int, kind: str | None) -> Example:
        return Example("t", label, "en", None, "f", kind)

    bait_set_teaser, bait_set_news = row(1, None), row(0, None)
    tabloid, genre_news = row(1, "tabloid"), row(0, "news")
    # bait has no head of its own: the teaser head learns it from the clickbait sets
    assert KIND_NAMES == ("tabloid",)
    # a clickbait set's news row may be celebrity news that does not mislead: it says nothing of tabloid
    assert [kind_target(r, "tabloid") for r in (bait_set_teaser, bait_set_news, tabloid, genre_news)] == [
        None,
        None,
        1,
        0,
    ]
    assert not has_kinds([bait_set_teaser, bait_set_news, tabloid]) and has_kinds(
        [bait_set_teaser, bait_set_news, tabloid, genre_news]
    )


GENRE_TEXTS = [
    "Pop star shows off her beach villa",
    "Actor and singer split after ten years",
    "Horoscope: what the stars say today",
    "Celebrity chef throws lavish party",
]


def _kind_files(tmp_path: Path) -> list[Path]:
    bait = write_jsonl(
        tmp_path / "bait.jsonl",
        [
            *(
                {"text": f"{t} ({i})", "label": "clickbait", "lang": "en"}
                for i in range(4)
                for t in CLICKBAIT
            ),
            *({"text": f"{t} ({i})", "label": "news", "lang": "en"} for i in range(4) for t in NEWS),
        ],
    )
    genre = write_jsonl(
        tmp_path / "genre.jsonl",
        [
            *(
                {"text": f"{t} ({i})", "label": "clickbait", "kind": "tabloid", "lang": "en"}
                for i in range(8)
                for t in GENRE_TEXTS
            ),
            *(
                {"text": f"{t} [{i}]", "label": "news", "kind": "news", "lang": "en"}
                for i in range(4)
                for t in NEWS
            ),
        ],
    )
    return [bait, genre]


@pytest.mark.slow
def test_the_recipe_trains_both_kinds_and_answers_carry_them(tmp_path: Path, tiny_base: Path) -> None:
    recipe = tomllib.loads(RECIPE.read_text())
    bait, genre = _kind_files(tmp_path)
    romanian = write_jsonl(  # a second language: the centred heads take each one's mean
        tmp_path / "ro.jsonl",
        [
            *(
                {"text": f"Guvernul aprobă bugetul pe anul viitor ({i})", "label": "news", "lang": "ro"}
                for i in range(8)
            ),
            *(
                {"text": f"Nu o să crezi ce a făcut vedeta ({i})", "label": "clickbait", "lang": "ro"}
                for i in range(8)
            ),
        ],
    )
    recipe.update(
        {  # the shipped recipe's knobs, on tiny data and a tiny base (2 layers) for a few steps
            "data": [bait, romanian],
            "kinds_data": [genre],
            "eval_data": [],
            "out": tmp_path / "model",
            "base": str(tiny_base),
            "lora_layers": [1],
            "kinds_layer": 1,
            "epochs": 2,
            "samples_per_epoch": 64,
            "batch_size": 16,
            "eval_every": 4,
            "holdout_fraction": 0.25,
            "max_length": 32,
        }
    )
    result = train(TrainConfig(**recipe))
    manifest = result.manifest
    assert manifest.kinds == ["tabloid"] and manifest.kinds_layer == 1
    assert manifest.kinds_in_score == ["tabloid"] and manifest.kinds_normalised
    assert manifest.lora.layers == [1]
    assert set(manifest.training["kinds"]) == {"tabloid"}
    tabloid = manifest.training["kinds"]["tabloid"]
    assert tabloid["rows"] > 0 and tabloid["news_rows"] > 0  # the genre rows fitted it and placed it
    assert tabloid["news_flagged"] == 0.05 and "bias_moved" in tabloid
    scorer = Scorer.load(result.out)
    (prediction,) = scorer.score([CLICKBAIT[0]])
    record = prediction.record()
    assert set(record) >= {"score", "label", "bait", "tabloid"} and 0 <= record["tabloid"] <= 1
    texts = [CLICKBAIT[0], NEWS[0], *GENRE_TEXTS]
    rows = scorer.scores(texts)
    assert scorer.kinds == ["bait", "tabloid"]
    assert rows.shape == (len(texts), 3) and np.allclose(rows[:, 0], scorer.probabilities(texts))
    assert (rows[:, 0] >= rows[:, 2]).all()  # a tabloid teaser is a teaser, whatever the bait is
    head_alone = calibrated(scorer.logits(texts), manifest.temperature)
    assert np.allclose(rows[:, 1], head_alone, atol=1e-6)  # bait: the teaser head, calibrated
    assert (rows[:, 0] > head_alone + 1e-6).any()  # and the tabloid head does raise some
    numpy = Scorer.load(result.out, ClassifierSettings(engine="numpy"))
    assert np.allclose(numpy.scores(texts), rows, atol=1e-4)  # every engine reads the heads where they read
    earlier = scorer.embeddings(texts, layer=1)
    assert np.allclose(numpy.embeddings(texts, layer=1), earlier, atol=1e-4)
    assert not np.allclose(scorer.embeddings(texts), earlier, atol=1e-3)  # the adapted layer moved it

    # centred: each kind's logit is its head's on the unit vector, plus its language's offset, or
    # for a language with no clickbait rows, the offset of the mean of the languages' means
    offsets = manifest.kinds_offsets
    assert recipe["kinds_centred"] and set(offsets) == {"en", "ro", "und"}
    assert offsets["en"] != offsets["ro"]
    heads = load_file(str(result.out / "kinds.safetensors"))
    unit = earlier / np.linalg.norm(earlier, axis=-1, keepdims=True)
    for lang, offset in (("en", offsets["en"]), ("ro", offsets["ro"]), ("de", offsets["und"])):
        kind_logits = unit @ heads["weight"].T + heads["bias"] + np.array(offset)
        probabilities = scorer.scores(texts, langs=[lang] * len(texts))[:, 2:]
        np.testing.assert_allclose(probabilities, 1 / (1 + np.exp(-kind_logits)), atol=1e-4)

    # a retrain goes on from it on labels alone: the heads stay, reading where and as they did
    more = {**recipe, "kinds_data": [], "init_from": result.out, "out": tmp_path / "next", "epochs": 1}
    going_on = train(TrainConfig(**more)).manifest
    assert (going_on.kinds, going_on.kinds_layer, going_on.kinds_in_score) == (
        ["tabloid"],
        1,
        ["tabloid"],
    )
    assert going_on.kinds_normalised and going_on.kinds_offsets == offsets

    only_bait = Scorer.load(result.out, ClassifierSettings(teaser_kinds=["bait"]))
    kinds = {"bait": 0.1, "tabloid": 0.9}
    assert only_bait.label(0.99, kinds=kinds) == "news"  # a tabloid teaser, kept by a showbiz newsroom
    assert only_bait.label(0.99, kinds={"bait": 0.8, "tabloid": 0.1}) == "clickbait"
    # bait is the teaser head's calibrated probability: it reaches the model's threshold, not 0.5
    under = {"bait": only_bait.threshold - 0.01, "tabloid": 0.1}
    assert only_bait.label(0.99, kinds=under) == "news"
    assert only_bait.label(0.99, threshold=under["bait"], kinds=under) == "clickbait"
    assert scorer.label(0.99, kinds=kinds) == "clickbait"
    with pytest.raises(ValueError, match="teaser_kinds"):
        ClassifierSettings(teaser_kinds=["gossip"])


def test_the_shipped_model_names_every_training_file_and_its_licence() -> None:
    manifest = json.loads((default_model_dir() / "manifest.json").read_text())
    assert manifest["data"], "the default model lists no training files"
    for file in manifest["data"]:
        assert file.get("licence") and file["licence"] == data_licence(file["name"]), file["name"]
    assert manifest["kinds"] == ["tabloid"] and manifest["kinds_in_score"] == ["tabloid"]


@pytest.mark.slow
def test_kinds_go_onto_a_trained_model_from_its_recipe(tmp_path: Path, tiny_base: Path, capsys) -> None:
    """``clickbait kinds`` fits the heads of a model trained without them, where the recipe says: the
    genre file, the layer they read and the kinds the teaser score takes."""
    bait, genre = _kind_files(tmp_path)
    knobs = {"base": str(tiny_base), "epochs": 1, "samples_per_epoch": 32, "batch_size": 16, "max_length": 32}
    model = train(TrainConfig(data=[bait], out=tmp_path / "model", holdout_fraction=0.25, **knobs)).out
    before = Scorer.load(model)
    assert before.kinds == []
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        f'data = ["{bait.name}"]\nkinds_data = ["{genre.name}"]\nkinds_layer = 1\n'
        'kinds_in_score = ["tabloid"]\nkinds_normalised = true\nholdout_fraction = 0.25\n'
    )
    assert main(["kinds", "--model", str(model), "--config", str(recipe)]) == 0
    assert json.loads(capsys.readouterr().out)["tabloid"]["layer"] == 1
    scorer = Scorer.load(model)
    assert scorer.manifest.kinds_layer == 1 and scorer.manifest.kinds_in_score == ["tabloid"]
    assert scorer.version != before.version  # its scores changed: so does its name
    rows = scorer.scores(GENRE_TEXTS)
    assert (rows[:, 0] >= rows[:, 2]).all()
