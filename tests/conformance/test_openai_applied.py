"""The openai package against the lab `aoai-lb apply` made: AzureOpenAI with the APIM gateway
URL and a subscription key, as the seed article's client does."""

import openai
import pytest

import lab


@pytest.fixture
def client(applied_lab):
    """AzureOpenAI on the applied lab's gateway, without client retries (they would hide a 429)."""
    with applied_lab.openai(max_retries=0) as client:
        yield client


def test_chat_completion_through_the_gateway(client):
    raw = client.chat.completions.with_raw_response.create(
        model=lab.DEPLOYMENT,
        messages=[{"role": "user", "content": "Say hi."}],
        max_tokens=5,
    )
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.model.startswith("gpt-4o")
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content
    assert completion.usage.completion_tokens <= 5
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert raw.headers["x-ms-region"] in ("West US", "East US")
    assert int(raw.headers["x-ratelimit-remaining-requests"]) >= 0
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) >= 0
    assert raw.headers["apim-request-id"]


def test_chat_completion_streams_chunks(client):
    stream = client.chat.completions.create(
        model=lab.DEPLOYMENT,
        messages=[{"role": "user", "content": "Count to five."}],
        max_tokens=8,
        stream=True,
        stream_options={"include_usage": True},
    )
    events = list(stream)
    # Azure OpenAI may open with an event that carries only `prompt_filter_results` (no id,
    # no choices; "Content filtering", Azure OpenAI docs); every other event is a chunk.
    chunks = [c for c in events if c.object == "chat.completion.chunk"]
    assert all(
        c.choices == [] and c.model_extra.get("prompt_filter_results")
        for c in events
        if c.object != "chat.completion.chunk"
    )
    assert len(chunks) >= 2, events
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    # include_usage: the last chunk has no choices and carries the usage of the whole answer.
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] in ("stop", "length")


def test_embeddings_on_a_chat_deployment_is_refused(client):
    with pytest.raises(openai.BadRequestError) as refused:
        client.embeddings.create(model=lab.DEPLOYMENT, input="hello")
    assert refused.value.status_code == 400
    assert refused.value.code == "OperationNotSupported"


def test_a_path_no_operation_matches_is_apims_404(client):
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.list()
    assert missing.value.status_code == 404
    assert missing.value.response.json() == {"statusCode": 404, "message": "Resource not found"}


def test_throttled_backends_answer_429_with_retry_after(client, emulator):
    before = emulator.hook("GET", "/_emulator/dataplane")["config"]
    emulator.hook("PUT", "/_emulator/dataplane", {**before, "accounts": {"default": {"requests": 0}}})
    try:
        with pytest.raises(openai.RateLimitError) as throttled:
            client.chat.completions.create(
                model=lab.DEPLOYMENT, messages=[{"role": "user", "content": "hi"}], max_tokens=5
            )
    finally:
        emulator.hook("PUT", "/_emulator/dataplane", before)
    headers = throttled.value.response.headers
    assert throttled.value.status_code == 429
    assert int(headers["retry-after"]) >= 1
    assert int(headers["retry-after-ms"]) > 0
