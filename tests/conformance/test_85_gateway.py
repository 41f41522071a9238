"""The openai package against the lab the SDKs built: through the gateway, the pool and the
managed identity, to the accounts."""

from openai import AzureOpenAI

import build
import lab


def test_chat_completion_on_the_sdk_built_lab(resources, cognitive, apim, authorization):
    key = build.lab_behind_the_gateway(resources, cognitive, apim, authorization)
    gateway = apim.api_management_service.get(lab.APIM_RG, lab.APIM).gateway_url
    with AzureOpenAI(
        azure_endpoint=gateway, api_key=key, api_version=lab.INFERENCE_API_VERSION, max_retries=0
    ) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=lab.DEPLOYMENT, messages=[{"role": "user", "content": "Say hi."}], max_tokens=5
        )
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content
    assert raw.headers["x-ms-region"] in ("West US", "East US")
