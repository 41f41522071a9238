"""azure-mgmt-apimanagement: the Azure OpenAI API imported from the 2024-10-21 inference spec
(specs/), updated, its operations, and its policy (the lab's pool policy with the managed identity)."""

import build
import lab

def test_api_import_with_the_poller(apim):
    api = build.api(apim)
    assert api.id == f"{lab.apim_id()}/apis/{lab.API}"
    assert api.path == lab.API_PATH
    assert api.display_name == "Azure OpenAI"
    assert api.is_current is True


def test_api_get_and_list(apim):
    build.api(apim)
    got = apim.api.get(lab.APIM_RG, lab.APIM, lab.API)
    assert got.path == lab.API_PATH
    assert got.is_current is True
    assert got.subscription_key_parameter_names.header == "api-key"
    assert lab.API in {a.name for a in apim.api.list_by_service(lab.APIM_RG, lab.APIM)}


def test_api_update(apim):
    build.api(apim)
    updated = apim.api.update(
        lab.APIM_RG, lab.APIM, lab.API, "*", {"properties": {"description": "load balanced"}}
    )
    assert updated.description == "load balanced"
    got = apim.api.get(lab.APIM_RG, lab.APIM, lab.API)
    assert got.description == "load balanced"
    assert got.path == lab.API_PATH


def test_api_operations_come_from_the_spec(apim):
    operations = {o.name: o for o in apim.api_operation.list_by_api(lab.APIM_RG, lab.APIM, lab.API)}
    assert "ChatCompletions_Create" in operations
    chat = operations["ChatCompletions_Create"]
    assert chat.method == "POST"
    assert chat.url_template == "/deployments/{deployment-id}/chat/completions?api-version={api-version}"


def test_api_policy_create_and_get(resources, cognitive, apim):
    build.api(apim)
    build.backends(apim)
    build.identity(apim)
    apim.api_policy.create_or_update(
        lab.APIM_RG,
        lab.APIM,
        lab.API,
        "policy",
        {"properties": {"format": "rawxml", "value": build.POLICY}},
    )
    got = apim.api_policy.get(lab.APIM_RG, lab.APIM, lab.API, "policy")
    assert got.format == "xml"
    assert f'backend-id="{lab.POOL}"' in got.value
    assert "authentication-managed-identity" in got.value
