"""azure-mgmt-resource (Microsoft.Resources at the SDK's default api-version): resource groups."""

import pytest
from azure.core.exceptions import ResourceNotFoundError

import lab

SCRATCH = "rg-conformance-scratch"


def test_resource_group_create_and_get(resources):
    created = resources.resource_groups.create_or_update(
        lab.RG, {"location": lab.LOCATION, "tags": {"suite": "conformance"}}
    )
    assert created.name == lab.RG
    assert created.id == lab.rg_id()
    assert created.location == lab.LOCATION
    assert created.properties.provisioning_state == "Succeeded"
    got = resources.resource_groups.get(lab.RG)
    assert got.id == lab.rg_id()
    assert got.tags == {"suite": "conformance"}


def test_resource_group_check_existence(resources):
    resources.resource_groups.create_or_update(lab.RG, {"location": lab.LOCATION})
    assert resources.resource_groups.check_existence(lab.RG) is True
    assert resources.resource_groups.check_existence("rg-conformance-never") is False


def test_resource_group_list(resources):
    resources.resource_groups.create_or_update(SCRATCH, {"location": lab.LOCATION})
    names = {g.name for g in resources.resource_groups.list()}
    assert {lab.RG, SCRATCH} <= names


def test_resource_group_delete_with_the_poller(resources):
    resources.resource_groups.create_or_update(SCRATCH, {"location": lab.LOCATION})
    poller = resources.resource_groups.begin_delete(SCRATCH)
    poller.result()
    assert poller.status() == "Succeeded"
    with pytest.raises(ResourceNotFoundError) as missing:
        resources.resource_groups.get(SCRATCH)
    assert missing.value.error.code == "ResourceGroupNotFound"
    assert SCRATCH not in {g.name for g in resources.resource_groups.list()}
