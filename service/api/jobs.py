"""Retraining routes: start a job in a process of its own, follow it."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading

from fastapi import APIRouter, Depends, Path

from classifier.errors import ClickbaitError, ErrorType
from service.api.deps import AdminDep, JobStoreDep, SettingsDep, json_body, require_reader
from service.api.schemas import JSON_BODY_ERRORS, NO_NUL, ErrorBody, JobOut, RetrainRequest
from service.runtime.retrain_job import job_params
from service.settings import ServiceSettings
from service.store.tables import Job

log = logging.getLogger(__name__)
router = APIRouter(tags=["retraining"])
ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 409)}
JOB_NICENESS = 10  # the scoring threads of this process keep priority over training


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        state=job.state,
        progress=job.progress,
        message=job.message,
        by=job.author,
        params=job.params,
        result=job.result,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


def spawn_job(settings: ServiceSettings, job: Job) -> None:
    """Start ``python -m service.runtime.retrain_job`` in a session of its own (it outlives a restart of the
    server); a thread reaps it when it ends."""
    log_dir = settings.data_dir / "jobs" / job.id
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CLICKBAIT_DATABASE_URL": settings.database,
        "CLICKBAIT_CACHE_DIR": str(settings.cache_dir),
    }
    with open(log_dir / "job.log", "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.runtime.retrain_job", job.id, "--nice", str(JOB_NICENESS)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    threading.Thread(target=process.wait, name=f"reap-{job.id[:8]}", daemon=True).start()


@router.post(
    "/v1/retrain",
    status_code=202,
    response_model=JobOut,
    dependencies=[Depends(json_body)],
    responses={**ERRORS, **JSON_BODY_ERRORS, 500: {"model": ErrorBody}},
)
async def start_retrain(
    body: RetrainRequest, who: AdminDep, jobs: JobStoreDep, settings: SettingsDep
) -> JobOut:
    """Start a retraining job (one at a time); follow it at ``GET /v1/jobs/{id}``."""
    job = await asyncio.to_thread(jobs.create, job_params(settings, body.from_base), who)
    try:
        await asyncio.to_thread(spawn_job, settings, job)
    except OSError as exc:
        await asyncio.to_thread(jobs.update, job.id, state="failed", message=f"could not start: {exc}")
        raise ClickbaitError(f"the job process could not start: {exc}", ErrorType.job_not_started) from exc
    return job_out(job)


@router.get("/v1/jobs", response_model=list[JobOut], dependencies=[Depends(require_reader)], responses=ERRORS)
def list_jobs(jobs: JobStoreDep) -> list[JobOut]:
    """The most recent jobs, newest first."""
    return [job_out(job) for job in jobs.recent()]


@router.get(
    "/v1/jobs/{job_id}", response_model=JobOut, dependencies=[Depends(require_reader)], responses=ERRORS
)
def get_job(jobs: JobStoreDep, job_id: str = Path(pattern=NO_NUL)) -> JobOut:
    """State, progress, and once finished the comparison of candidate and current model."""
    job = jobs.get(job_id)
    if job is None:
        raise ClickbaitError(f"no job {job_id}", ErrorType.not_found)
    return job_out(job)
