"""azure-mgmt-apimanagement: the APIM subscription clients use, and its keys."""

import build
import lab


def test_subscription_create_and_list_secrets(apim):
    build.api(apim)
    created = apim.subscription.create_or_update(
        lab.APIM_RG,
        lab.APIM,
        lab.APIM_SUBSCRIPTION,
        {"properties": {"scope": f"/apis/{lab.API}", "displayName": "conformance", "state": "active"}},
    )
    assert created.state == "active"
    assert created.scope.endswith(f"/apis/{lab.API}")
    secrets = apim.subscription.list_secrets(lab.APIM_RG, lab.APIM, lab.APIM_SUBSCRIPTION)
    assert secrets.primary_key and secrets.secondary_key
    assert secrets.primary_key != secrets.secondary_key
    assert lab.APIM_SUBSCRIPTION in {s.name for s in apim.subscription.list(lab.APIM_RG, lab.APIM)}
