"""The default model as the browser extension runs it with no service (``docs/extension.md``).

What ``clickbait extension --out`` puts in the extension beside its scripts:

- ``model/encoder.onnx``: the onnx engine's int8 encoder graph (``classifier.onnx_int8``), as the
  service on a CPU with VNNI builds it, for onnxruntime-web's WebAssembly backend (which runs its
  contrib operators); the Linears the int8 form keeps in floating point are stored as per-channel
  int8 weights with a ``DequantizeLinear`` (weight-only: their activations stay in floating point),
  which halves the graph again;
- ``model/embeddings.bin``: the word-embedding rows of the pieces the extension keeps, in the base's
  own 4-bit blocks (the rows the service reads, bit for bit), then the position and type rows;
- ``model/tokenizer.json``: the base's Unigram tokenizer over the kept pieces only, renumbered to
  the rows of that table. Viterbi over a subset of the pieces picks the same segmentation wherever
  the full vocabulary's best one uses kept pieces only, so text like the pieces' source re-segments
  as the service segments it; other text falls back to shorter kept pieces;
- ``model/model.json``: the heads, the int8 engine's temperature and threshold, the per-language
  corrections (their languages are the validated ones) and the kinds;
- ``vendor/``: onnxruntime-web and ``@huggingface/tokenizers``, copied from ``node_modules`` (``npm
  ci`` at the repository root installs the pinned versions).

Which pieces are kept is a file shipped with the package (``extension_pieces.bin``, a bitmap over
the base's pieces), written by ``python -m service.extension_model`` from the training recipe's
data: the pieces of the training split of its bait sets and of its other sets, and every
single-character piece. The build is kept in ``CLICKBAIT_CACHE_DIR/extension/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

import numpy as np

from classifier.artifact import Manifest, int8_calibrated, read_manifest
from classifier.errors import ClickbaitError
from classifier.numpy_bert import NumpyClassifier
from classifier.scorer import default_model_dir
from classifier.settings import get_settings
from classifier.text import QUERY_PREFIX, normalise_headline
from classifier.tokenizer import HeadlineTokenizer

BUILD_VERSION = "3"  # raise when the files built from the same inputs change
MODEL_FOLDER = "model"
PIECES_FILE = "extension_pieces.bin"
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
# extension path -> path under node_modules: the WebAssembly build only (no WebGPU or WebGL)
RUNTIME_FILES = {
    "vendor/ort/ort.wasm.min.mjs": "onnxruntime-web/dist/ort.wasm.min.mjs",
    "vendor/ort/ort-wasm-simd-threaded.mjs": "onnxruntime-web/dist/ort-wasm-simd-threaded.mjs",
    "vendor/ort/ort-wasm-simd-threaded.wasm": "onnxruntime-web/dist/ort-wasm-simd-threaded.wasm",
    "vendor/tokenizers/tokenizers.min.mjs": "@huggingface/tokenizers/dist/tokenizers.min.mjs",
    "vendor/tokenizers/LICENSE": "@huggingface/tokenizers/LICENSE",
}
SPECIALS = 4  # <s>, <pad>, </s>, <unk>: ids 0-3 in the base and in the pruned vocabulary
BLOCK = 32  # weights per 4-bit block (the base's Q4_0 layout)
IR_VERSION = 10  # onnxruntime-web reads up to its own ONNX version's; the opsets are unchanged


class ExtensionBuildError(ClickbaitError):
    """A part of the extension's build is missing (the npm step, or the pieces file)."""


def kept_pieces() -> np.ndarray:
    """The base's piece ids the extension keeps, ascending (the specials first)."""
    bits = np.frombuffer((files("service") / PIECES_FILE).read_bytes(), np.uint8)
    return np.flatnonzero(np.unpackbits(bits)).astype(np.int64)


def _pieces_of(texts: Iterable[str], tokenizer) -> set[int]:
    """The piece ids the service's tokenizer gives ``texts`` as it scores them."""
    rows = tokenizer.encode([QUERY_PREFIX + normalise_headline(t) for t in texts], 1 << 30)
    return {i for row in rows for i in row}


def write_pieces(config_file: Path) -> int:
    """``extension_pieces.bin`` from the recipe ``config_file``: the pieces of its bait sets'
    training split (never the validation split the extension is measured on), of its other sets,
    and every single-character piece; returns how many."""
    from classifier.base import load_tokenizer, resolve_base
    from training.config import TrainConfig
    from training.data import load_dataset, read_file, split_holdout

    config = TrainConfig.from_sources(config_file, {})
    base = resolve_base(config.base)
    tokenizer = load_tokenizer(base.path)
    train, _ = split_holdout(load_dataset(config.data).examples, config.holdout_fraction, config.holdout_by)
    texts = [e.text for e in train]
    for path in [*config.eval_data, *config.kinds_data]:
        texts += [e.text for e in read_file(path)]
    vocab = json.loads((base.path / "tokenizer.json").read_text())["model"]["vocab"]
    keep = np.zeros(len(vocab), bool)
    keep[:SPECIALS] = True
    keep[[i for i, (piece, _) in enumerate(vocab) if len(piece) == 1]] = True
    keep[sorted(_pieces_of(texts, tokenizer))] = True
    (Path(__file__).parent / PIECES_FILE).write_bytes(np.packbits(keep).tobytes())
    return int(keep.sum())


def _weight_only_int8(model) -> None:
    """Each floating-point MatMul's constant weight ``[in, out]`` as int8 per output channel, and a
    ``DequantizeLinear`` that restores it before the product (in place)."""
    from onnx import helper, numpy_helper

    initialisers = {i.name: i for i in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        weight = initialisers.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is not None:
            w = numpy_helper.to_array(weight)
            scale = (np.maximum(np.abs(w).max(axis=0), 1e-12) / 127).astype(np.float32)
            q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
            name = weight.name
            model.graph.initializer.remove(weight)
            model.graph.initializer.extend(
                [
                    numpy_helper.from_array(q, f"{name}.int8"),
                    numpy_helper.from_array(scale, f"{name}.scale"),
                    numpy_helper.from_array(np.zeros_like(scale, np.int8), f"{name}.zero"),
                ]
            )
            nodes.append(
                helper.make_node(
                    "DequantizeLinear",
                    [f"{name}.int8", f"{name}.scale", f"{name}.zero"],
                    [f"{name}.dequantised"],
                    name=f"{name}.dequantised",
                    axis=1,
                )
            )
            node.input[1] = f"{name}.dequantised"
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def _encoder(model_dir: Path, cache_dir: Path) -> bytes:
    import onnx

    from classifier.onnx_int8 import quantised_graph

    model = onnx.load(str(quantised_graph(model_dir, read_manifest(model_dir), cache_dir, full_range=True)))
    _weight_only_int8(model)
    model.ir_version = IR_VERSION
    return model.SerializeToString()


def _tokenizer(tokenizer_file: Path, kept: np.ndarray) -> bytes:
    """The base's ``tokenizer.json`` over the kept pieces, ids renumbered in their order."""
    config = json.loads(tokenizer_file.read_text())
    vocab = config["model"]["vocab"]
    config["model"]["vocab"] = [vocab[i] for i in kept]
    config["added_tokens"] = [t for t in config["added_tokens"] if t["id"] < SPECIALS]
    return json.dumps(config, ensure_ascii=False, separators=(",", ":")).encode()


def _embeddings(network: NumpyClassifier, kept: np.ndarray, max_length: int) -> bytes:
    """The kept rows' 4-bit blocks (float16 scales ``[rows, blocks]``, then the packed nibbles
    ``[rows, blocks, 16]``), then the first ``max_length`` position rows and the type row (float32):
    what ``NumpyClassifier.summed`` adds up."""
    w = network.w
    parts = [
        w["q4.scales"][kept],
        w["q4.packed"][kept],
        w["embeddings.position_embeddings.weight"][:max_length].astype(np.float32),
        w["embeddings.token_type_embeddings.weight"][0].astype(np.float32),
    ]
    return b"".join(np.ascontiguousarray(p).tobytes() for p in parts)


def _model_json(
    network: NumpyClassifier, manifest: Manifest, rows: int, tokenizer: HeadlineTokenizer, detector: dict
) -> bytes:
    calibrated = int8_calibrated(manifest)
    weight, bias = network.w["head.weight"], network.w["head.bias"]
    return json.dumps(
        {
            "version": manifest.version,
            "labels": manifest.labels,
            "threshold": calibrated.threshold,
            "temperature": calibrated.temperature,
            "max_length": manifest.max_length,
            "truncation_side": tokenizer.truncation_side,
            "batch_size": get_settings().batch_size,  # the service's batches: the same int8 scales
            "query_prefix": QUERY_PREFIX,
            "layers": network.layers,
            "kinds": manifest.kinds,
            "kinds_in_score": manifest.kinds_in_score,
            "kinds_layer": network.kinds_layer or network.layers,
            "kinds_normalised": network.kinds_normalised,
            "kinds_offsets": manifest.kinds_offsets,
            "languages": {
                lang: {"below": c.below, "above": c.above, "offset": c.offset}
                for lang, c in manifest.languages.items()
            },
            "head": {"weight": weight.tolist(), "bias": bias.tolist()},
            "embeddings": {"rows": rows, "hidden": weight.shape[0], "block": BLOCK},
            "pad_id": tokenizer.pad_id,
            "detector": detector,
        },
        indent=1,
    ).encode()


def _trie_strings(identifier) -> list[bytes]:
    """Each state of py3langid's automaton as the bytes that reach it first (breadth first): the
    trie node it stands for, since a transition goes to the longest suffix of the text read that is
    a node (Aho-Corasick's goto and failure folded into one table)."""
    moves = np.asarray(identifier.tk_nextmove, np.int64).reshape(-1, 256)
    rows = np.asarray(identifier.tk_row, np.int64)
    strings: list[bytes | None] = [None] * len(rows)
    strings[0], level = b"", [0]
    while level:
        found = []
        for state in level:
            for byte, target in enumerate(moves[rows[state]].tolist()):
                if strings[target] is None:
                    strings[target] = strings[state] + bytes([byte])
                    found.append(target)
        level = found
    return strings


def _languages(max_length: int = 255) -> tuple[bytes, dict]:
    """py3langid's restricted model (``classifier.language``) for the browser: ``languages.bin``
    and its description. The automaton as its states' strings (``_trie_strings``; each state's
    feature or -1), and the naive-Bayes table with each feature's row less its mean (the same for
    every language, so no decision moves) in 8 bits over the row's range."""
    from classifier.language import LANGUAGES, SAME_AS, identifier

    found = identifier()
    strings = _trie_strings(found)
    if max(map(len, strings)) > max_length:
        raise ExtensionBuildError("py3langid's automaton has states longer than the format holds")
    table = found.nb_ptc.astype(np.float32)
    centred = table - table.mean(axis=1, keepdims=True)
    low = centred.min(axis=1)
    step = np.maximum(centred.max(axis=1) - low, 1e-6) / 255
    codes = np.round((centred - low[:, None]) / step[:, None]).astype(np.uint8)
    parts = [
        np.asarray(found.tk_output, np.int32),
        low.astype(np.float32),
        step.astype(np.float32),
        np.array([len(s) for s in strings], np.uint8),
        np.frombuffer(b"".join(strings), np.uint8),
        codes,
    ]
    description = {
        "states": len(strings),
        "features": int(table.shape[0]),
        "classes": list(found.nb_classes),
        "prior": found.nb_pc.astype(np.float32).tolist(),
        "same_as": SAME_AS,
        "languages": list(LANGUAGES),
    }
    return b"".join(p.tobytes() for p in parts), description


def _key(model_dir: Path, kept: np.ndarray) -> str:
    digest = hashlib.sha256(f"{BUILD_VERSION}:{get_settings().batch_size}".encode() + kept.tobytes())
    for path in sorted(model_dir.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:24]


def model_folder(cache_dir: Path | None = None) -> Path:
    """The default model's browser build, built once into ``cache_dir/extension/KEY/``."""
    from classifier.artifact import checked_base
    from classifier.base import load_tokenizer

    cache_dir = cache_dir or get_settings().cache_dir
    model_dir, kept = default_model_dir(), kept_pieces()
    folder = cache_dir / "extension" / _key(model_dir, kept)
    if folder.is_dir():
        return folder
    manifest = read_manifest(model_dir)
    base = checked_base(model_dir, manifest).path
    network = NumpyClassifier.load(base, model_dir, manifest, encoder=False)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as work:
        built = Path(work)
        (built / "encoder.onnx").write_bytes(_encoder(model_dir, cache_dir))
        (built / "embeddings.bin").write_bytes(_embeddings(network, kept, manifest.max_length))
        (built / "tokenizer.json").write_bytes(_tokenizer(base / "tokenizer.json", kept))
        languages, detector = _languages()
        (built / "languages.bin").write_bytes(languages)
        (built / "model.json").write_bytes(
            _model_json(network, manifest, len(kept), load_tokenizer(base), detector)
        )
        os.replace(built, folder)  # atomic: a concurrent build sees the whole folder or none
        built.mkdir()  # for the temporary directory's own clean-up
    return folder


def runtime_files(node_modules: Path = NODE_MODULES) -> dict[str, bytes]:
    """The web runtime's files by extension path, from ``node_modules``."""
    missing = [source for source in RUNTIME_FILES.values() if not (node_modules / source).is_file()]
    if missing:
        raise ExtensionBuildError(
            f"the extension's web runtime is not installed ({node_modules / missing[0]} is missing): "
            "run `npm ci` at the repository root (Node.js and npm needed), then build again"
        )
    return {path: (node_modules / source).read_bytes() for path, source in RUNTIME_FILES.items()}


def local_model_files() -> dict[str, bytes]:
    """Every file the extension's local model needs, by its path in the extension."""
    folder = model_folder()
    model = {f"{MODEL_FOLDER}/{p.name}": p.read_bytes() for p in sorted(folder.iterdir())}
    return model | runtime_files()


def main() -> None:
    parser = argparse.ArgumentParser(description="write extension_pieces.bin from a training recipe")
    parser.add_argument("--config", type=Path, default=Path("training/configs/teaser.toml"))
    args = parser.parse_args()
    print(json.dumps({"pieces": write_pieces(args.config)}))


if __name__ == "__main__":
    main()
