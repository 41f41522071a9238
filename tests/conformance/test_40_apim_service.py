"""azure-mgmt-apimanagement at its default api-version: the existing (seeded) API Management
service: read it, turn its system-assigned identity on with a full PUT (as Bicep and
Terraform do), and PATCH it (the SDK's update always carries `properties`)."""

from azure.mgmt.apimanagement.models import (
    ApiManagementServiceIdentity,
    ApiManagementServiceUpdateParameters,
)

import lab


def test_apim_service_get(apim, emulator):
    service = apim.api_management_service.get(lab.APIM_RG, lab.APIM)
    assert service.id == lab.apim_id()
    assert service.name == lab.APIM
    assert service.gateway_url == f"{emulator.url}/gateway/{lab.APIM}"
    assert service.sku.name


def test_apim_service_put_turns_the_identity_on(apim):
    service = apim.api_management_service.get(lab.APIM_RG, lab.APIM)
    service.identity = ApiManagementServiceIdentity(type="SystemAssigned")
    poller = apim.api_management_service.begin_create_or_update(lab.APIM_RG, lab.APIM, service)
    updated = poller.result()
    assert updated.identity.type == "SystemAssigned"
    assert updated.identity.principal_id
    assert updated.identity.tenant_id
    again = apim.api_management_service.get(lab.APIM_RG, lab.APIM)
    assert again.identity.principal_id == updated.identity.principal_id


def test_apim_service_patch(apim):
    before = apim.api_management_service.get(lab.APIM_RG, lab.APIM)
    poller = apim.api_management_service.begin_update(
        lab.APIM_RG,
        lab.APIM,
        ApiManagementServiceUpdateParameters(tags={"suite": "conformance"}),
    )
    updated = poller.result()
    assert updated.tags == {"suite": "conformance"}
    # The identity turned on above stays as it was.
    assert updated.identity.type == before.identity.type
    assert updated.identity.principal_id == before.identity.principal_id
