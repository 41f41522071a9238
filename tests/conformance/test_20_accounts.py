"""azure-mgmt-cognitiveservices at its default api-version: Azure OpenAI accounts, with the
SDK's long-running-operation pollers, soft delete, purge and restore."""

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cognitiveservices.models import Account

import build
import lab

SCRATCH = "aoai-conf-scratch"


@pytest.fixture(scope="module", autouse=True)
def group(resources):
    build.group(resources)


def test_account_create_with_the_poller(cognitive, emulator):
    for name, location in ((lab.ACCOUNT, lab.LOCATION), (lab.ACCOUNT2, lab.LOCATION2)):
        seen = len(emulator.requests())
        poller = cognitive.accounts.begin_create(lab.RG, name, build.account_body(location, name))
        account = poller.result()
        # The poller went where ARM sends it: the operation result in the account's region,
        # then the account itself.
        calls = [(e["method"], e["path"], e["status"]) for e in emulator.requests()[seen:]]
        assert [(m, status) for m, _, status in calls] == [("PUT", 201), ("GET", 200), ("GET", 200)]
        assert f"/providers/Microsoft.CognitiveServices/locations/{location}/operationResults/" in (
            calls[1][1]
        )
        assert calls[2][1] == lab.account_id(name)
        assert poller.status() == "Succeeded"
        assert account.id == lab.account_id(name)
        assert account.kind == "OpenAI"
        assert account.sku.name == "S0"
        assert account.location == location
        assert account.properties.provisioning_state == "Succeeded"
        assert account.properties.custom_sub_domain_name == name
        assert account.properties.endpoint == f"https://{name}.openai.azure.com/"


def test_account_get(cognitive):
    account = cognitive.accounts.get(lab.RG, lab.ACCOUNT)
    assert account.name == lab.ACCOUNT
    assert account.tags == {"suite": "conformance"}
    assert account.properties.endpoint == f"https://{lab.ACCOUNT}.openai.azure.com/"


def test_account_list_by_resource_group_and_subscription(cognitive):
    in_group = {a.name for a in cognitive.accounts.list_by_resource_group(lab.RG)}
    assert in_group == {lab.ACCOUNT, lab.ACCOUNT2}
    everywhere = {a.id for a in cognitive.accounts.list()}
    assert {lab.account_id(lab.ACCOUNT), lab.account_id(lab.ACCOUNT2)} <= everywhere


def test_account_update_tags(cognitive):
    poller = cognitive.accounts.begin_update(
        lab.RG, lab.ACCOUNT, Account(tags={"suite": "conformance", "updated": "yes"})
    )
    updated = poller.result()
    assert updated.tags == {"suite": "conformance", "updated": "yes"}
    assert cognitive.accounts.get(lab.RG, lab.ACCOUNT).tags["updated"] == "yes"


def test_account_location_cannot_change(cognitive):
    with pytest.raises(HttpResponseError) as refused:
        cognitive.accounts.begin_create(lab.RG, lab.ACCOUNT, build.account_body(lab.LOCATION2, lab.ACCOUNT))
    assert refused.value.status_code == 409
    assert refused.value.error.code == "InvalidResourceLocation"
    assert cognitive.accounts.get(lab.RG, lab.ACCOUNT).location == lab.LOCATION


def test_account_list_keys(cognitive):
    keys = cognitive.accounts.list_keys(lab.RG, lab.ACCOUNT)
    assert keys.key1 and keys.key2 and keys.key1 != keys.key2


def test_account_soft_delete_purge_and_restore(cognitive):
    cognitive.accounts.begin_create(lab.RG, SCRATCH, build.account_body(lab.LOCATION, SCRATCH)).result()
    cognitive.accounts.begin_delete(lab.RG, SCRATCH).result()
    with pytest.raises(ResourceNotFoundError):
        cognitive.accounts.get(lab.RG, SCRATCH)

    deleted = cognitive.deleted_accounts.get(lab.LOCATION, lab.RG, SCRATCH)
    assert deleted.name == SCRATCH
    assert deleted.location == lab.LOCATION
    assert SCRATCH in {d.name for d in cognitive.deleted_accounts.list()}

    restored = cognitive.accounts.begin_create(
        lab.RG, SCRATCH, build.account_body(lab.LOCATION, SCRATCH, restore=True)
    ).result()
    assert restored.properties.provisioning_state == "Succeeded"
    assert SCRATCH not in {d.name for d in cognitive.deleted_accounts.list()}

    cognitive.accounts.begin_delete(lab.RG, SCRATCH).result()
    cognitive.deleted_accounts.begin_purge(lab.LOCATION, lab.RG, SCRATCH).result()
    assert SCRATCH not in {d.name for d in cognitive.deleted_accounts.list()}
    with pytest.raises(ResourceNotFoundError):
        cognitive.deleted_accounts.get(lab.LOCATION, lab.RG, SCRATCH)


FOUNDRY = "aoai-conf-foundry"


def test_a_foundry_account_reports_its_azure_openai_endpoint_and_upgrades_in_place(cognitive):
    """kind AIServices: `endpoint` is the cognitiveservices.azure.com host, the Azure OpenAI
    API is listed under `endpoints`; an OpenAI account becomes one with an update (the
    SDK's default api-version allows it, azure-cli #32089), and can go back."""
    body = build.account_body(lab.LOCATION, FOUNDRY)
    body.kind = "AIServices"
    account = cognitive.accounts.begin_create(lab.RG, FOUNDRY, body).result()
    assert account.kind == "AIServices"
    assert account.properties.endpoint == f"https://{FOUNDRY}.cognitiveservices.azure.com/"
    endpoints = account.properties.endpoints
    assert endpoints["OpenAI Language Model Instance API"] == f"https://{FOUNDRY}.openai.azure.com/"
    assert endpoints["AI Foundry API"] == f"https://{FOUNDRY}.services.ai.azure.com/"

    back = cognitive.accounts.begin_update(lab.RG, FOUNDRY, Account(kind="OpenAI")).result()
    assert back.kind == "OpenAI"
    assert back.properties.endpoint == f"https://{FOUNDRY}.openai.azure.com/"
    again = cognitive.accounts.begin_update(lab.RG, FOUNDRY, Account(kind="AIServices")).result()
    assert again.kind == "AIServices"
    assert again.properties.custom_sub_domain_name == FOUNDRY
    with pytest.raises(HttpResponseError) as refused:
        cognitive.accounts.begin_update(lab.RG, FOUNDRY, Account(kind="SpeechServices")).result()
    assert refused.value.error.code == "UpdateKindNotAllowed"

    cognitive.accounts.begin_delete(lab.RG, FOUNDRY).result()
    cognitive.deleted_accounts.begin_purge(lab.LOCATION, lab.RG, FOUNDRY).result()
