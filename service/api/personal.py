"""A reader's personal layer: export it with the labels it learnt from, or delete both."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import AdminDep, LabelStoreDep, PersonalDep, ProfileQuery, SettingsDep
from service.api.labels import AUTH_ERRORS, label_out
from service.api.schemas import PersonalDeleted, PersonalExport
from service.runtime.personal import reader_name

router = APIRouter(tags=["personal"])


@router.get("/v1/personal", response_model=PersonalExport, responses=AUTH_ERRORS)
def export_personal(
    owner: AdminDep,
    store: LabelStoreDep,
    personal: PersonalDep,
    settings: SettingsDep,
    profile: str | None = ProfileQuery,
) -> PersonalExport:
    """The presenting key's (or its profile's) personal layer and the labels it learns from."""
    reader = reader_name(owner, profile)
    row = personal.store.get(reader)
    labels = store.reader_labels(reader, settings.personal_max_labels)
    return PersonalExport(
        reader=reader,
        labels=[label_out(label) for label in labels],
        layer=row.layer if row else None,
        model=row.model if row else None,
        fitted_at=row.fitted_at if row else None,
        feed_token=row.feed_token if row else None,
    )


@router.delete("/v1/personal", response_model=PersonalDeleted, responses=AUTH_ERRORS)
def delete_personal(
    owner: AdminDep, personal: PersonalDep, profile: str | None = ProfileQuery
) -> PersonalDeleted:
    """Delete the reader's labels and their layer: their answers are the shared model's again."""
    reader = reader_name(owner, profile)
    deleted, layer = personal.forget(reader)
    return PersonalDeleted(reader=reader, labels_deleted=deleted, layer_deleted=layer)
