"""azure-mgmt-apimanagement at its default api-version: the existing (seeded) API Management
service."""

import lab


def test_apim_service_get(apim, emulator):
    service = apim.api_management_service.get(lab.APIM_RG, lab.APIM)
    assert service.id == lab.apim_id()
    assert service.name == lab.APIM
    assert service.gateway_url == f"{emulator.url}/gateway/{lab.APIM}"
    assert service.sku.name
