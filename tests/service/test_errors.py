"""The error catalogue: every kind has one status, the OpenAPI document lists the kinds, and the code
below the routes raises kinds, never statuses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from classifier.errors import ClickbaitError, ErrorType
from service.api.app import create_app
from service.api.http_errors import STATUS, answer, status_of
from service.feeds.formats import FeedError, UnreadableFeed
from service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
# modules below the HTTP layer: they may raise ClickbaitError but must not know the web framework
DOMAIN = [
    *sorted((ROOT / "classifier").glob("*.py")),
    *sorted((ROOT / "training").glob("*.py")),
    *(
        path
        for role in ("feeds", "runtime", "store")
        for path in sorted((ROOT / "service" / role).glob("*.py"))
    ),
]


def test_every_kind_but_the_frameworks_own_has_one_status() -> None:
    missing = [kind for kind in ErrorType if kind not in STATUS and kind is not ErrorType.http_error]
    assert not missing
    assert all(kind.description for kind in ErrorType)


def test_an_exception_class_in_the_table_decides_before_its_kind() -> None:
    assert status_of(UnreadableFeed("neither")) == 415
    assert status_of(FeedError("not RSS", ErrorType.not_a_feed)) == 422


def test_the_answer_carries_kind_message_and_headers(tmp_path: Path) -> None:
    response = answer(ClickbaitError("slow down", ErrorType.rate_limited, retry_after=2.2))
    assert response.status_code == 429 and response.headers["retry-after"] == "3"
    assert response.body == b'{"error":"slow down","error_type":"rate_limited"}'
    challenge = answer(ClickbaitError("who are you?", ErrorType.unauthorized))
    assert challenge.status_code == 401 and challenge.headers["www-authenticate"] == "Bearer"


def test_openapi_lists_the_kinds(tmp_path: Path) -> None:
    schema = create_app(ServiceSettings(data_dir=tmp_path)).openapi()
    error_body = schema["components"]["schemas"]["ErrorBody"]
    kinds = schema["components"]["schemas"]["ErrorType"]["enum"]
    assert error_body["properties"]["error_type"] == {"$ref": "#/components/schemas/ErrorType"}
    assert kinds == [kind.value for kind in ErrorType]


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_code_knows_no_http(path: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0] if node.level == 0 else "")
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
    assert not imported & {"fastapi", "starlette", "service.api.http_errors", "service.api.deps"}
