"""Where ``clickbait serve``'s start-up time and resident memory go, and what it holds under load.

Usage (repository root, converted base already cached):
    python benchmarks/startup.py [--model default] [--engine auto] [--rounds 3] [--headlines 10000]
    python benchmarks/startup.py --short        # 1 round, 500 headlines: the test suite's mode
    CLICKBAIT_LANGUAGE=ro python benchmarks/startup.py   # a server for one language: no detection

Part 1, in this process: each step the service takes before /ready answers 200 (imports, the
model's weights and engine, the tokenizer) and the language identifier the first request loads,
its wall time and the resident memory it added, split into anonymous memory (Python objects,
tensors, the tokenizer's structures, glibc's heaps) and file pages (code of the shared libraries);
then what the final resident memory holds: the model's tensors, the heap glibc keeps free, and
the libraries' pages.

Part 2, ``clickbait serve`` as a user starts it (its own data directory, 127.0.0.1): seconds from
the command to /ready over ``--rounds`` starts; then, in the last, ``--headlines`` mixed headlines
of ../shared/data (every file in turn; a synthetic fallback elsewhere) in requests of 1–256 from 4
clients, with the server's resident memory at ready, after every tenth of them, and its peak.
Timings are only comparable at the same load average, which is printed beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import random
import sys
import time
from pathlib import Path

DATA = sorted(Path("../shared/data").glob("*.jsonl"))
MALLINFO2 = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()


def memory() -> dict[str, float]:
    """This process's resident memory in MB: total, anonymous and file-backed (smaps_rollup)."""
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":")
        fields[name] = int(value.split()[0]) / 1024
    return {"rss": fields["Rss"], "anon": fields["Anonymous"], "file": fields["Rss"] - fields["Anonymous"]}


def by_mapping() -> dict[str, float]:
    """Resident MB per kind of mapping: anonymous memory, torch's libraries, every other file."""
    totals: dict[str, float] = {}
    kind = ""
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5:  # a mapping's header: range, perms, offset, dev, inode, path
            path = head[5] if len(head) > 5 else ""
            if not path or path.startswith("["):
                kind = "anonymous (heap, tensors, Python objects, tokenizer)"
            elif "/torch/" in path:
                kind = "torch's shared libraries (code pages)"
            else:
                kind = "other shared libraries and files"
        elif head[0] == "Rss:":
            totals[kind] = totals.get(kind, 0.0) + int(head[1]) / 1024
    return totals


def heap_free_mb() -> float | None:
    """Bytes glibc's heaps hold free (mallinfo2's fordblks), in MB; None off glibc."""

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2]

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = MallInfo2
    except (OSError, AttributeError):
        return None
    return libc.mallinfo2().fordblks / 2**20


def tensor_mb(module) -> float:
    """Bytes of a network's weights as it holds them, int8 packed weights included (the onnx engine:
    those outside its graph, which ONNX Runtime holds)."""
    from classifier.numpy_bert import NumpyClassifier

    if isinstance(module, NumpyClassifier):
        return sum(a.nbytes for a in module.w.values()) / 2**20
    import torch

    total = 0
    for value in module.state_dict().values():
        tensors = value if isinstance(value, tuple) else (value,)  # packed int8 Linears: (weight, bias)
        total += sum(t.nbytes for t in tensors if isinstance(t, torch.Tensor))
    return total / 2**20


def in_process_steps(model: str, engine: str) -> dict:
    from service.runtime.memory import cap_malloc_arenas, map_large_blocks
    from service.settings import ServiceSettings

    defaults = ServiceSettings.model_fields  # the heap settings `serve` applies before anything else
    cap_malloc_arenas(defaults["malloc_arenas"].default)
    map_large_blocks(defaults["malloc_mmap_kb"].default)
    rows: list[dict] = []
    clock, before = time.perf_counter(), memory()
    start = before

    def step(name: str) -> None:
        nonlocal clock, before
        now, after = time.perf_counter(), memory()
        rows.append(
            {
                "step": name,
                "seconds": now - clock,
                **{k: after[k] - before[k] for k in ("rss", "anon", "file")},
            }
        )
        clock, before = now, after

    from classifier.artifact import read_manifest
    from classifier.backend import choose_engine, load_backend
    from classifier.scorer import resolve_model_dir
    from classifier.settings import ClassifierSettings

    model_dir = resolve_model_dir(model)
    chosen = choose_engine(read_manifest(model_dir), engine)
    if chosen in ("fp32", "int8"):  # the onnx and numpy engines' servers never import it
        import torch  # noqa: F401 - timed on purpose

        step("import torch")
    import service.api.app  # noqa: F401

    step("import the service (FastAPI, SQLAlchemy, our modules)")
    from classifier.base import load_tokenizer

    backend, _, base = load_backend(model_dir, ClassifierSettings(engine=chosen))
    step(f"the model in its engine ({engine} → {backend.engine}), LoRA merged")
    load_tokenizer(base.path)
    step("tokenizer")
    if not os.environ.get("CLICKBAIT_LANGUAGE"):  # else never loaded
        from classifier.language import detect_language

        detect_language("Parliament approves the state budget")  # loads at the first headline scored
        step("language identification (py3langid, 43 languages)")
    heavy = ("transformers", "peft", "datasets", "accelerate") + (
        ("torch",) if chosen in ("onnx", "numpy") else ()
    )
    heavy = [name for name in heavy if name in sys.modules]
    return {
        "interpreter_mb": start["rss"],
        "steps": rows,
        "resident_mb": memory(),
        "by_mapping_mb": by_mapping(),
        "model_tensors_mb": tensor_mb(getattr(backend, "network", backend)),
        "heap_free_mb": heap_free_mb(),
        "heavy_imports": heavy,
    }


def serve_rounds(model: str, rounds: int, count: int, engine: str, data: list[Path]) -> dict:
    from serve_load import headlines, resident_mb, served, wait_ready

    ready_s, load = [], []
    for round_number in range(rounds):
        load.append(os.getloadavg()[0])
        started = time.perf_counter()
        with served(model, env={"CLICKBAIT_ENGINE": engine}) as (url, server):
            wait_ready(url, server)
            ready_s.append(time.perf_counter() - started)
            if round_number < rounds - 1:
                continue
            samples = {"ready": resident_mb(server.pid)}
            samples.update(asyncio.run(drive(url, headlines(data, count), server.pid, resident_mb)))
            samples["peak"] = resident_mb(server.pid, "VmHWM")
    return {"ready_s": ready_s, "load_average": load, "rss_mb": samples}


async def drive(url: str, pool: list[str], pid: int, resident_mb) -> dict[str, float]:
    """Score every headline of ``pool`` once, in requests of 1–256 from 4 clients; the server's
    resident MB after every tenth of the pool."""
    import httpx

    rng = random.Random(0)
    requests, at = [], 0
    while at < len(pool):
        size = 1 if rng.random() < 0.5 else rng.choice([rng.randint(2, 16), rng.randint(17, 256)])
        requests.append(pool[at : at + size])
        at += size
    marks = [len(pool) * k // 10 for k in range(1, 11)]
    samples: dict[str, float] = {}
    done = 0

    async def client() -> None:
        nonlocal done
        async with httpx.AsyncClient(timeout=120) as http:
            while requests:
                batch = requests.pop()
                (await http.post(f"{url}/v1/score", json={"headlines": batch})).raise_for_status()
                done += len(batch)
                while marks and done >= marks[0]:
                    samples[f"after {marks.pop(0)}"] = resident_mb(pid)

    await asyncio.gather(*(client() for _ in range(4)))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--engine", default="auto", choices=["auto", "onnx", "int8", "fp32", "numpy"])
    parser.add_argument("--rounds", type=int, default=3, help="server starts timed")
    parser.add_argument("--headlines", type=int, default=10_000, help="scored by the last server")
    parser.add_argument("--data", type=Path, nargs="*", default=DATA, help="JSONL files with a text field")
    parser.add_argument("--short", action="store_true", help="1 round, 500 headlines")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.short:
        args.rounds, args.headlines = 1, 500

    result = {"load_average": os.getloadavg(), "in_process": in_process_steps(args.model, args.engine)}
    result["serve"] = serve_rounds(args.model, args.rounds, args.headlines, args.engine, args.data)
    result["load_average_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)


def print_report(result: dict) -> None:
    part = result["in_process"]
    print(f"load average {result['load_average'][0]:.1f} before, {result['load_average_after'][0]:.1f} after")
    print(f"interpreter: {part['interpreter_mb']:.0f} MB resident\n")
    print("| step | seconds | resident MB added | of it anonymous | of it file pages |")
    print("| --- | --- | --- | --- | --- |")
    for row in part["steps"]:
        added = " | ".join(f"{row[k]:+.0f}" for k in ("rss", "anon", "file"))
        print(f"| {row['step']} | {row['seconds']:.2f} | {added} |")
    total, seconds = part["resident_mb"], sum(r["seconds"] for r in part["steps"])
    print(
        f"| total | {seconds:.2f} | {total['rss']:.0f} resident | {total['anon']:.0f} | {total['file']:.0f} |"
    )
    print("\n| what the resident memory holds | MB |\n| --- | --- |")
    for kind, mb in part["by_mapping_mb"].items():
        print(f"| {kind} | {mb:.0f} |")
    print(f"| of the anonymous: the model's tensors | {part['model_tensors_mb']:.0f} |")
    if part["heap_free_mb"] is not None:
        print(f"| of the anonymous: free heap glibc keeps | {part['heap_free_mb']:.0f} |")
    print(f"heavy libraries imported: {', '.join(part['heavy_imports']) or 'none'}\n")
    serve = result["serve"]
    rounds = zip(serve["ready_s"], serve["load_average"], strict=True)
    print("`clickbait serve`: ready in " + ", ".join(f"{s:.2f} s (load {a:.1f})" for s, a in rounds))
    print("| server | resident MB |\n| --- | --- |")
    for when, mb in serve["rss_mb"].items():
        print(f"| {when} | {mb:.0f} |")


if __name__ == "__main__":
    main()
