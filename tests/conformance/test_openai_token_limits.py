"""The openai package against an APIM token limit: on the lab `aoai-lb apply` made, a second
subscription (made with azure-mgmt-apimanagement) gets an `llm-token-limit` of its own; past
it the client sees APIM's 429 with Retry-After, while the lab's own key carries on."""

import openai
import pytest

import lab

API = "azure-openai-apply"
LIMITED = "conformance-limited"

LIMIT = f"""
        <choose>
            <when condition="@(context.Subscription.Id == "{LIMITED}")">
                <llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="150"
                    estimate-prompt-tokens="true" remaining-tokens-header-name="x-remaining-tokens" />
            </when>
        </choose>"""


@pytest.fixture
def limited_key(applied_lab, apim):
    """A subscription with a token limit; the lab's policy put back afterwards."""
    before = apim.api_policy.get(lab.APIM_RG, lab.APPLY_APIM, API, "policy", format="rawxml").value
    at = before.index("<base />", before.index("<inbound>")) + len("<base />")
    apim.api_policy.create_or_update(
        lab.APIM_RG,
        lab.APPLY_APIM,
        API,
        "policy",
        {"properties": {"format": "rawxml", "value": before[:at] + LIMIT + before[at:]}},
    )
    apim.subscription.create_or_update(
        lab.APIM_RG,
        lab.APPLY_APIM,
        LIMITED,
        {"properties": {"scope": "/apis", "displayName": "Limited", "state": "active"}},
    )
    try:
        yield apim.subscription.list_secrets(lab.APIM_RG, lab.APPLY_APIM, LIMITED).primary_key
    finally:
        apim.api_policy.create_or_update(
            lab.APIM_RG, lab.APPLY_APIM, API, "policy", {"properties": {"format": "rawxml", "value": before}}
        )


def chat(client):
    # 400 characters: the emulator estimates 107 prompt tokens; 110 with the 3 completion tokens.
    return client.chat.completions.with_raw_response.create(
        model=lab.DEPLOYMENT, messages=[{"role": "user", "content": "x" * 400}], max_tokens=3
    )


def test_a_token_limit_throttles_its_client_only(applied_lab, limited_key):
    from conftest import Gateway

    limited = Gateway(applied_lab.url, limited_key)
    with limited.openai(max_retries=0) as client:
        first = chat(client)
        assert first.headers["x-remaining-tokens"] == "40"
        with pytest.raises(openai.RateLimitError) as throttled:
            chat(client)
    assert throttled.value.status_code == 429
    assert int(throttled.value.response.headers["retry-after"]) >= 1
    body = throttled.value.response.json()
    assert body["statusCode"] == 429
    assert body["message"].startswith("Token limit is exceeded. Try again in ")
    with applied_lab.openai(max_retries=0) as client:
        for _ in range(3):
            assert chat(client).parse().usage.total_tokens == 110
