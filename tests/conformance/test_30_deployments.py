"""azure-mgmt-cognitiveservices: model deployments (gpt-4o) on the lab's accounts."""

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

import build
import lab
from harness import client_for, running_emulator

SCRATCH = "gpt-4o-scratch"


@pytest.fixture(scope="module", autouse=True)
def accounts(resources, cognitive):
    build.group(resources)
    for name, location in ((lab.ACCOUNT, lab.LOCATION), (lab.ACCOUNT2, lab.LOCATION2)):
        cognitive.accounts.begin_create(lab.RG, name, build.account_body(location, name)).result()


def test_deployment_create_with_the_poller(cognitive):
    for account in (lab.ACCOUNT, lab.ACCOUNT2):
        poller = cognitive.deployments.begin_create_or_update(
            lab.RG, account, lab.DEPLOYMENT, build.gpt4o()
        )
        deployment = poller.result()
        assert poller.status() == "Succeeded"
        assert deployment.id == f"{lab.account_id(account)}/deployments/{lab.DEPLOYMENT}"
        assert deployment.properties.provisioning_state == "Succeeded"
        assert deployment.properties.model.name == "gpt-4o"
        assert deployment.properties.model.version == "2024-11-20"
        assert deployment.sku.name == "Standard"
        assert deployment.sku.capacity == 10


def test_deployment_get_and_list(cognitive):
    got = cognitive.deployments.get(lab.RG, lab.ACCOUNT, lab.DEPLOYMENT)
    assert got.name == lab.DEPLOYMENT
    assert got.properties.model.format == "OpenAI"
    listed = list(cognitive.deployments.list(lab.RG, lab.ACCOUNT))
    assert [d.name for d in listed] == [lab.DEPLOYMENT]


def test_deployment_update_capacity_with_the_poller(cognitive):
    cognitive.deployments.begin_create_or_update(
        lab.RG, lab.ACCOUNT2, lab.DEPLOYMENT, build.gpt4o()
    ).result()
    updated = cognitive.deployments.begin_update(
        lab.RG, lab.ACCOUNT2, lab.DEPLOYMENT, {"sku": {"name": "Standard", "capacity": 20}}
    ).result()
    assert updated.sku.capacity == 20
    got = cognitive.deployments.get(lab.RG, lab.ACCOUNT2, lab.DEPLOYMENT)
    assert got.sku.capacity == 20
    assert got.properties.model.version == "2024-11-20"


def test_deployment_delete_with_the_poller(cognitive):
    cognitive.deployments.begin_create_or_update(lab.RG, lab.ACCOUNT, SCRATCH, build.gpt4o()).result()
    cognitive.deployments.begin_delete(lab.RG, lab.ACCOUNT, SCRATCH).result()
    with pytest.raises(ResourceNotFoundError):
        cognitive.deployments.get(lab.RG, lab.ACCOUNT, SCRATCH)
    assert [d.name for d in cognitive.deployments.list(lab.RG, lab.ACCOUNT)] == [lab.DEPLOYMENT]


def test_a_second_operation_on_one_account_is_refused_as_arm_does():
    # Under the instant profile an operation ends at its first poll; this needs one that runs
    # (the azure profile, 100 times faster: a deployment takes 0.6 s).
    with running_emulator("--latency", "azure", "--time-scale", "0.01") as slow:
        with client_for(ResourceManagementClient, slow) as resources, client_for(
            CognitiveServicesManagementClient, slow
        ) as cognitive:
            build.group(resources)
            body = build.account_body(lab.LOCATION, lab.ACCOUNT)
            cognitive.accounts.begin_create(lab.RG, lab.ACCOUNT, body).result()
            first = cognitive.deployments.begin_create_or_update(
                lab.RG, lab.ACCOUNT, lab.DEPLOYMENT, build.gpt4o()
            )
            with pytest.raises(HttpResponseError) as conflict:
                cognitive.deployments.begin_create_or_update(
                    lab.RG, lab.ACCOUNT, SCRATCH, build.gpt4o()
                )
            assert first.result().properties.provisioning_state == "Succeeded"
    assert conflict.value.status_code == 409
    assert conflict.value.error.code == "RequestConflict"
    assert conflict.value.error.message.startswith(
        "Another operation is being performed on the parent resource"
    )
