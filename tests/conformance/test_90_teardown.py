"""Tearing the SDK-built lab down: the resource group, with what is in it."""

import pytest
from azure.core.exceptions import ResourceNotFoundError

import build
import lab



def test_resource_group_delete_takes_the_accounts(resources, cognitive):
    build.accounts(resources, cognitive)
    resources.resource_groups.begin_delete(lab.RG).result()
    with pytest.raises(ResourceNotFoundError) as missing:
        resources.resource_groups.get(lab.RG)
    assert missing.value.error.code == "ResourceGroupNotFound"
    assert not [a for a in cognitive.accounts.list() if a.id.startswith(lab.rg_id() + "/")]
