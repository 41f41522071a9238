"""Idempotent steps that build the SDK lab, for the modules that need an earlier step's
resources: each module can then run alone (`tests/conformance/run test_80_subscriptions.py`)
and in the whole suite alike (a PUT of what exists changes nothing)."""

from azure.mgmt.cognitiveservices.models import (
    Account,
    AccountProperties,
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)

import lab


def account_body(location, subdomain, **properties):
    """An Azure OpenAI account as the seed lab has them: kind OpenAI, S0, a custom subdomain."""
    return Account(
        kind="OpenAI",
        sku=Sku(name="S0"),
        location=location,
        tags={"suite": "conformance"},
        properties=AccountProperties(custom_sub_domain_name=subdomain, **properties),
    )


def gpt4o():
    """The seed lab's deployment: gpt-4o 2024-08-06, Standard, 10 units."""
    return Deployment(
        sku=Sku(name="Standard", capacity=10),
        properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name="gpt-4o", version="2024-08-06")
        ),
    )


def group(resources):
    return resources.resource_groups.create_or_update(lab.RG, {"location": lab.LOCATION})


def accounts(resources, cognitive):
    """The resource group and both accounts, with their gpt-4o deployments."""
    group(resources)
    for name, location in ((lab.ACCOUNT, lab.LOCATION), (lab.ACCOUNT2, lab.LOCATION2)):
        cognitive.accounts.begin_create(lab.RG, name, account_body(location, name)).result()
        cognitive.deployments.begin_create_or_update(
            lab.RG, name, lab.DEPLOYMENT, gpt4o()
        ).result()


def api(apim):
    """The lab's API, imported from the 2024-10-21 inference spec at path `openai`."""
    return apim.api.begin_create_or_update(
        lab.APIM_RG,
        lab.APIM,
        lab.API,
        {
            "properties": {
                "format": "openapi+json",
                "value": lab.SPEC.read_text(),
                "path": lab.API_PATH,
                "displayName": "Azure OpenAI",
                "protocols": ["https"],
                "subscriptionKeyParameterNames": {"header": "api-key", "query": "api-key"},
            }
        },
    ).result()
