"""The retraining job, run in a process of its own (``python -m service.runtime.retrain_job JOB_ID``) so
that serving never waits for it: read the labels, train a candidate, judge it, promote or keep it."""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import threading
import time
from typing import TYPE_CHECKING

from classifier.extras import missing_extra
from classifier.registry import ModelRegistry, RegistryError
from classifier.scorer import resolve_model_dir
from service.settings import ServiceSettings
from service.store.db import make_engine
from service.store.headline_pool import HeadlinePool
from service.store.job_store import JobStore
from service.store.label_store import LabelStore, training_row
from service.store.tables import Job

if TYPE_CHECKING:  # training (torch, transformers) is imported in the job only
    from training.data import Dataset

log = logging.getLogger(__name__)
HEARTBEAT_S = 10.0
LABELS_FILE = "labels.jsonl"  # the name the labels are recorded under, as an export names them
SETTINGS_FOR_JOB = {"data_dir", "registry_dir", "model", "cache_dir", "threads", "retrain"}


def job_params(settings: ServiceSettings, from_base: bool) -> dict:
    """What the job process needs to know, stored with the job (no keys, no database URL)."""
    return {"from_base": from_base, "settings": settings.model_dump(mode="json", include=SETTINGS_FOR_JOB)}


def job_settings(job: Job) -> ServiceSettings:
    return ServiceSettings(**job.params["settings"])


def run(job_id: str, settings: ServiceSettings) -> Job:
    """Carry the job to its end; every outcome, failure included, is written to the job record."""
    engine = make_engine(settings.database)
    jobs, labels = JobStore(engine, settings.job_stale_s), LabelStore(engine)
    job = jobs.get(job_id)
    if job is None:
        raise ValueError(f"no job {job_id}")
    try:
        from training.retrain import check_label_count, retrain  # torch and transformers: only in the job
    except ModuleNotFoundError as exc:  # a lean install serves but cannot train: say which extra
        refusal = missing_extra(exc, "retraining")
        if refusal is None:
            raise
        jobs.update(job_id, state="failed", message=str(refusal))
        return jobs.get(job_id)
    registry = ModelRegistry(settings.registry_path)
    workdir = settings.data_dir / "jobs" / job_id
    stop = threading.Event()
    threading.Thread(target=_heartbeat, args=(jobs, job_id, stop), daemon=True).start()
    try:
        jobs.update(job_id, state="running", message="reading labels", progress=0.0)
        stored = stored_labels(labels)
        check_label_count(len(stored.examples), settings.retrain)  # before the registry is touched
        workdir.mkdir(parents=True, exist_ok=True)
        current = registry.seed(resolve_model_dir(settings.model))
        version = f"{time.strftime('%Y%m%d')}-{job_id[:8]}"
        result, judgement = retrain(
            registry.path(current),
            stored,
            workdir / "candidate",
            settings.retrain,
            pool=HeadlinePool(engine, settings.retrain.pool_size).headlines(),
            from_base=job.params.get("from_base", False),
            version=version,
            progress=_progress(jobs, job_id),
            stage=lambda message: jobs.update(job_id, message=message),
        )
        jobs.update(job_id, message="registering the candidate", progress=0.95)
        registry.add(result.out, {"job": job_id, "trained_from": current, "judgement": judgement.as_dict()})
        state, message = ("promoted" if judgement.promote else "rejected"), judgement.reason
        if jobs.get(job_id).state != "running":  # declared dead for a missed heartbeat: keep, never promote
            raise RuntimeError(f"the job was given up while it ran; candidate {version} kept, not promoted")
        if judgement.promote:
            try:
                registry.promote(version, by=f"job {job_id}", reason=judgement.reason, replacing=current)
            except RegistryError as exc:
                state, message = "rejected", str(exc)
        jobs.update(job_id, state=state, progress=1.0, message=message, result=judgement.as_dict())
    except Exception as exc:
        log.exception("job %s failed", job_id)
        jobs.update(job_id, state="failed", message=f"{type(exc).__name__}: {exc}")
    finally:
        stop.set()
        shutil.rmtree(workdir / "candidate", ignore_errors=True)  # the registry holds its copy
    return jobs.get(job_id)


def stored_labels(store: LabelStore) -> Dataset:
    """The label that counts for each headline, as the retrain's rows (file ``labels``), recorded
    under the name and hash of the file ``clickbait labels export`` would write of them."""
    from training.data import DataFile, Dataset, labelled_row

    latest = list(store.latest())
    digest = hashlib.sha256("".join(training_row(label) for label in latest).encode("utf-8"))
    rows = [
        labelled_row(
            {"text": label.headline, "label": label.label, "lang": label.lang, "source": label.source},
            f"stored label {label.id}",
            LABELS_FILE.split(".")[0],
        )
        for label in latest
    ]
    return Dataset(rows, [DataFile(name=LABELS_FILE, sha256=digest.hexdigest(), rows=len(rows))])


def _progress(jobs: JobStore, job_id: str, every_s: float = 2.0):
    last = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last >= every_s or done == total:
            last = time.monotonic()
            jobs.update(
                job_id, progress=round(0.9 * done / total, 4), message=f"training: step {done} of {total}"
            )

    return report


def _heartbeat(jobs: JobStore, job_id: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        jobs.update(job_id)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("job_id")
    parser.add_argument("--nice", type=int, default=0, help="lower this process's priority (serving first)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.nice:
        os.nice(args.nice)
    settings = ServiceSettings()
    job = JobStore(make_engine(settings.database), settings.job_stale_s).get(args.job_id)
    if job is None:
        raise SystemExit(f"no job {args.job_id}")
    run(job.id, job_settings(job))


if __name__ == "__main__":
    main()
