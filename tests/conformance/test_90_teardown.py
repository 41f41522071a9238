"""Tearing the SDK-built lab down: the API (the SDK's delete poller), then the group."""

import pytest
from azure.core.exceptions import ResourceNotFoundError

import build
import lab


def test_api_delete(apim):
    build.api(apim)
    apim.api.begin_delete(lab.APIM_RG, lab.APIM, lab.API, "*").result()
    with pytest.raises(ResourceNotFoundError):
        apim.api.get(lab.APIM_RG, lab.APIM, lab.API)
    assert lab.API not in {a.name for a in apim.api.list_by_service(lab.APIM_RG, lab.APIM)}


def test_resource_group_delete_takes_the_accounts(resources, cognitive):
    build.accounts(resources, cognitive)
    resources.resource_groups.begin_delete(lab.RG).result()
    with pytest.raises(ResourceNotFoundError) as missing:
        resources.resource_groups.get(lab.RG)
    assert missing.value.error.code == "ResourceGroupNotFound"
    assert not [a for a in cognitive.accounts.list() if a.id.startswith(lab.rg_id() + "/")]
