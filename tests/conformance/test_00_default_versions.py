"""The pinned clients send their own default api-versions (none is set here), and the emulator
serves each: what the rest of the suite proves holds for those versions."""

import lab


def _seen(emulator, method, path):
    """(status, api-version) of the last METHOD request to PATH in the emulator's log (ARM
    paths are case-insensitive: azure-mgmt-resource writes `resourcegroups`)."""
    entries = [
        e
        for e in emulator.requests()
        if e["method"] == method and e["path"].lower() == path.lower()
    ]
    assert entries, f"no {method} {path} in the log"
    query = dict(p.split("=", 1) for p in entries[-1]["query"].split("&") if "=" in p)
    return entries[-1]["status"], query["api-version"]


def test_each_client_sends_its_default_api_version(
    emulator, resources, cognitive, apim, authorization
):
    resources.resource_groups.create_or_update(lab.RG, {"location": lab.LOCATION})
    resources.resource_groups.get(lab.RG)
    list(cognitive.accounts.list_by_resource_group(lab.RG))
    apim.api_management_service.get(lab.APIM_RG, lab.APIM)
    list(authorization.role_assignments.list_for_scope(lab.rg_id()))

    assert _seen(emulator, "GET", lab.rg_id()) == (200, "2025-04-01")
    accounts = f"{lab.rg_id()}/providers/Microsoft.CognitiveServices/accounts"
    assert _seen(emulator, "GET", accounts) == (200, "2025-09-01")
    assert _seen(emulator, "GET", lab.apim_id()) == (200, "2024-05-01")
    assignments = f"{lab.rg_id()}/providers/Microsoft.Authorization/roleAssignments"
    assert _seen(emulator, "GET", assignments) == (200, "2022-04-01")
