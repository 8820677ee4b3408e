"""The Hugging Face client people already use, unchanged, against a real server: ``InferenceClient``
posts the Inference API's text-classification request to the URL it is given and parses the answer."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import httpx
import huggingface_hub.constants
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError

from tests.support.models import TRIGGER

NEWS = "Parliament approves the budget after a long debate"
BAIT = f"{TRIGGER} photos of the mayor at the beach"


@pytest.fixture()
def client(server, monkeypatch: pytest.MonkeyPatch) -> InferenceClient:
    """The client as docs/clients.md tells a user with ``HF_HUB_OFFLINE=1`` to make it: huggingface_hub
    reads that variable once, at import, and then refuses every URL, a local service's too; turning
    it off in this process reaches the local service whatever the caller's environment says."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return InferenceClient(model=server.url, timeout=30)


def test_inference_client_text_classification(client: InferenceClient, server) -> None:
    bait = client.text_classification(BAIT)
    assert [e.label for e in bait] == ["clickbait", "news"] and bait[0].score > 0.9
    assert math.isclose(bait[0].score + bait[1].score, 1.0, rel_tol=1e-6)
    scored = httpx.post(f"{server.url}/v1/score", json={"headlines": [BAIT]}).json()["results"][0]["score"]
    assert math.isclose(bait[0].score, scored, rel_tol=1e-6)  # the service's own calibrated probability
    (top,) = client.text_classification(NEWS, top_k=1)
    assert top.label == "news" and top.score > 0.9
    logits = client.text_classification(BAIT, function_to_apply="none")
    half = math.log(scored / (1 - scored)) / 2  # the exported network's logits: ±logit(p)/2
    assert [(e.label, round(e.score, 4)) for e in logits] == [
        ("clickbait", round(half, 4)),
        ("news", round(-half, 4)),
    ]
    sigmoid = client.text_classification(BAIT, function_to_apply="sigmoid")
    assert math.isclose(sigmoid[0].score, 1 / (1 + math.exp(-half)), rel_tol=1e-6)


def test_inference_client_sees_the_services_refusals(client: InferenceClient) -> None:
    with pytest.raises(HfHubHTTPError) as refused:
        client.text_classification("   ")
    assert refused.value.response.status_code == 422 and "empty" in str(refused.value)
    with pytest.raises(HfHubHTTPError) as refused:
        client.text_classification(NEWS, top_k=0)
    assert refused.value.response.json()["error_type"] == "validation_error"


@pytest.mark.slow
@pytest.mark.multiprocess
@pytest.mark.parametrize("offline", ["1", None], ids=["HF_HUB_OFFLINE=1", "unset"])
def test_the_client_tests_pass_whatever_the_callers_environment(offline: str | None) -> None:
    """The tests above in a fresh interpreter with the variable set before anything is imported
    (as a user's shell does) and with it unset: the same two pass either way."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    if offline is not None:
        env["HF_HUB_OFFLINE"] = offline
    tests = [
        f"{__file__}::{name}"
        for name in (
            "test_inference_client_text_classification",
            "test_inference_client_sees_the_services_refusals",
        )
    ]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0 and "2 passed" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"inputs": NEWS, "parameters": {"truncation": "only_first"}}, "parameters.truncation"),
        ({"inputs": NEWS, "parameters": {"function_to_apply": "relu"}}, "function_to_apply"),
        ({"inputs": NEWS, "options": {"wait_for_model": True}}, "options"),
        ({"inputs": []}, "inputs"),
    ],
)
def test_parameters_it_cannot_honour_are_refused(server, body: dict, mentions: str) -> None:
    response = httpx.post(server.url + "/", json=body, timeout=30)
    assert response.status_code == 422 and response.json()["error_type"] == "validation_error"
    assert mentions in response.json()["error"]


def test_a_list_of_inputs_gets_one_list_each(server) -> None:
    response = httpx.post(server.url + "/", json={"inputs": [NEWS, BAIT], "parameters": {"top_k": 1}})
    assert [[e["label"] for e in answer] for answer in response.json()] == [["news"], ["clickbait"]]
    assert httpx.get(server.url + "/").headers["content-type"].startswith("text/html")  # the page stays
