"""Idempotent steps that build the SDK lab, for the modules that need an earlier step's
resources: each module can then run alone (`tests/conformance/run test_80_subscriptions.py`)
and in the whole suite alike (a PUT of what exists changes nothing)."""

import lab


def api(apim):
    """The lab's API, imported from the 2024-10-21 inference spec at path `openai`."""
    return apim.api.begin_create_or_update(
        lab.APIM_RG,
        lab.APIM,
        lab.API,
        {
            "properties": {
                "format": "openapi+json",
                "value": lab.SPEC.read_text(),
                "path": lab.API_PATH,
                "displayName": "Azure OpenAI",
                "protocols": ["https"],
                "subscriptionKeyParameterNames": {"header": "api-key", "query": "api-key"},
            }
        },
    ).result()
