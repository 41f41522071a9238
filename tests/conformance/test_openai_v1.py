"""The openai package against examples/v1-and-dated.yaml as `aoai-lb apply` makes it: one API
at path `openai` serving the dated shape and the v1 API (`/openai/v1/...`, the deployment in
the body's `model`). `OpenAI(base_url=<gateway>/openai/v1)` drives the v1 shape, and the
Python snippets `aoai-lb output` prints run as printed, for both shapes. Then v1-models.yaml
(the v1 API over accounts serving different models): each model answered only by the
regions that deploy it, a model none deploys refused by the gateway."""

import json
import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from harness import ROOT, binary, running_emulator

PLAN = ROOT / "examples" / "v1-and-dated.yaml"
MODELS_PLAN = Path(__file__).parent / "v1-models.yaml"


def apply_and_output(tmp_path_factory, plan, apim):
    """PLAN applied on an emulator of its own (APIM service APIM seeded), and what
    `aoai-lb output --show-secrets --output json` says about it."""
    tmp = tmp_path_factory.mktemp("v1")
    config = tmp / "emulator.json"
    config.write_text(json.dumps({"dataPlane": {"seed": 7}}))
    with running_emulator("--config", str(config), "--seed-apim", f"{apim}@rg-apim") as emu:
        env = dict(
            os.environ,
            AOAI_LB_ARM_ENDPOINT=emu.url,
            AOAI_LB_ACCESS_TOKEN="conformance",
            AOAI_LB_STATE=str(tmp / "state.json"),
        )
        done = subprocess.run(
            [binary(), "apply", str(plan), "--yes", "-q"],
            env=env, capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stderr
        out = subprocess.run(
            [binary(), "output", str(plan), "--show-secrets", "--output", "json"],
            env=env, capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        yield json.loads(out.stdout)


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    """examples/v1-and-dated.yaml applied."""
    yield from apply_and_output(tmp_path_factory, PLAN, "apim-aoai-lb")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """v1-models.yaml applied: the v1 API over accounts serving different models."""
    yield from apply_and_output(tmp_path_factory, MODELS_PLAN, "apim-conformance-v1")


def v1_client(applied):
    key = applied["subscriptionKey"]
    return openai.OpenAI(
        base_url=applied["apiUrl"] + "/v1",
        api_key=key,
        default_headers={applied["subscriptionKeyHeader"]: key},
        max_retries=0,
    )


@pytest.fixture
def client(applied):
    """The plain OpenAI client on the v1 shape; the key in the API's header."""
    with v1_client(applied) as client:
        yield client


def test_v1_chat_completion_by_model(client):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-5.1",
        messages=[{"role": "user", "content": "Say hi."}],
        max_tokens=5,
    )
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.model.startswith("gpt-5.1")
    assert completion.choices[0].message.content
    assert raw.headers["x-ms-region"] in ("East US", "West US")


def test_v1_streams_chunks(client):
    stream = client.chat.completions.create(
        model="gpt-5.1",
        messages=[{"role": "user", "content": "Count to five."}],
        max_tokens=8,
        stream=True,
    )
    chunks = [c for c in stream if c.object == "chat.completion.chunk"]
    assert len(chunks) >= 2
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_v1_embeddings_by_model(client):
    result = client.embeddings.create(model="embeddings", input="hello")
    assert result.data[0].object == "embedding"
    assert len(result.data[0].embedding) > 0


def test_v1_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(
            model="no-such-deployment", messages=[{"role": "user", "content": "hi"}]
        )
    assert missing.value.status_code == 404


@pytest.mark.parametrize("shape", ["dated", "v1"])
def test_the_printed_python_snippet_runs(applied, shape, tmp_path):
    snippets = applied["snippets"]
    code = snippets["python"] if shape == "dated" else snippets["v1"]["python"]
    if shape == "dated":
        assert "azure_endpoint=" in code and "from openai import AzureOpenAI" in code
    else:
        assert "from openai import OpenAI" in code
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = dict(os.environ, AOAI_LB_API_KEY=applied["subscriptionKey"])
    ran = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert "aoai-lb emulator answered" in ran.stdout


def test_each_model_is_answered_only_where_it_is_deployed(models):
    regions = {"gpt-5.4": set(), "gpt-5.1": set()}
    with v1_client(models) as client:
        for model in regions:
            for _ in range(20):
                raw = client.chat.completions.with_raw_response.create(
                    model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=3
                )
                assert raw.parse().model.startswith(model)
                regions[model].add(raw.headers["x-ms-region"])
        assert regions == {"gpt-5.4": {"East US"}, "gpt-5.1": {"East US", "West US"}}
        with pytest.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )
        assert missing.value.code == "DeploymentNotFound"
        # The gateway's own answer: no account region on it.
        assert "x-ms-region" not in missing.value.response.headers
