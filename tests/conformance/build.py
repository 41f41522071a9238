"""Idempotent steps that build the SDK lab, for the modules that need an earlier step's
resources: each module can then run alone (`tests/conformance/run test_80_subscriptions.py`)
and in the whole suite alike (a PUT of what exists changes nothing)."""

import io
import json
import uuid

from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.cognitiveservices.models import (
    Account,
    AccountProperties,
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)

import lab

POLICY = f"""<policies>
    <inbound>
        <base />
        <set-backend-service backend-id="{lab.POOL}" />
        <authentication-managed-identity resource="https://cognitiveservices.azure.com" output-token-variable-name="managed-id-access-token" ignore-error="false" />
        <set-header name="Authorization" exists-action="override">
            <value>@("Bearer " + (string)context.Variables["managed-id-access-token"])</value>
        </set-header>
    </inbound>
    <backend>
        <retry count="1" interval="0" first-fast-retry="true" condition="@(context.Response.StatusCode == 429 || context.Response.StatusCode == 503)">
            <forward-request buffer-request-body="true" />
        </retry>
    </backend>
    <outbound>
        <base />
    </outbound>
    <on-error>
        <base />
    </on-error>
</policies>"""


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
    """The seed lab's deployment: gpt-4o 2024-11-20, Standard, 10 units."""
    return Deployment(
        sku=Sku(name="Standard", capacity=10),
        properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name="gpt-4o", version="2024-11-20")
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


def identity(apim):
    """The APIM service's system-assigned identity on; its principal id.

    Sent as the raw body `{"identity": {"type": "SystemAssigned"}}` through the SDK's own
    begin_update (its model always adds `properties`; test_40 drives that form)."""
    service = apim.api_management_service.get(lab.APIM_RG, lab.APIM)
    if service.identity is None or service.identity.type != "SystemAssigned":
        body = io.BytesIO(json.dumps({"identity": {"type": "SystemAssigned"}}).encode())
        service = apim.api_management_service.begin_update(
            lab.APIM_RG, lab.APIM, body, content_type="application/json"
        ).result()
    return service.identity.principal_id


def single_backend(account, description):
    """A backend for ACCOUNT with a circuit breaker that trips on one 429 for 10 s."""
    return {
        "properties": {
            "url": f"https://{account}.openai.azure.com/openai",
            "protocol": "http",
            "description": description,
            "circuitBreaker": {
                "rules": [
                    {
                        "name": "openai-breaker",
                        "failureCondition": {
                            "count": 1,
                            "interval": "PT10S",
                            "statusCodeRanges": [{"min": 429, "max": 429}],
                        },
                        "tripDuration": "PT10S",
                        "acceptRetryAfter": True,
                    }
                ]
            },
        }
    }


def pool_backend():
    """The pool over both backends, 2:1 at one priority."""
    return {
        "properties": {
            "type": "Pool",
            "description": "the lab's pool",
            "pool": {
                "services": [
                    {"id": lab.backend_id(lab.BACKEND1), "priority": 1, "weight": 2},
                    {"id": lab.backend_id(lab.BACKEND2), "priority": 1, "weight": 1},
                ]
            },
        }
    }


def backends(apim):
    for name, account in ((lab.BACKEND1, lab.ACCOUNT), (lab.BACKEND2, lab.ACCOUNT2)):
        apim.backend.create_or_update(
            lab.APIM_RG, lab.APIM, name, single_backend(account, f"Azure OpenAI {account}")
        )
    apim.backend.create_or_update(lab.APIM_RG, lab.APIM, lab.POOL, pool_backend())


def role_assignment_name(scope, principal):
    """A deterministic name for the OpenAI User role of PRINCIPAL at SCOPE."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}|{lab.OPENAI_USER_ROLE}|{principal}"))


def lab_behind_the_gateway(resources, cognitive, apim, authorization):
    """The whole SDK lab: accounts, identity and its roles, backends, API, policy, subscription;
    the subscription's primary key."""
    accounts(resources, cognitive)
    principal = identity(apim)
    for account in (lab.ACCOUNT, lab.ACCOUNT2):
        scope = lab.account_id(account)
        name = role_assignment_name(scope, principal)
        body = RoleAssignmentCreateParameters(
            role_definition_id=lab.role_definition_id(),
            principal_id=principal,
            principal_type="ServicePrincipal",
        )
        authorization.role_assignments.create(scope, name, body)
    backends(apim)
    api(apim)
    apim.api_policy.create_or_update(
        lab.APIM_RG, lab.APIM, lab.API, "policy", {"properties": {"format": "rawxml", "value": POLICY}}
    )
    apim.subscription.create_or_update(
        lab.APIM_RG,
        lab.APIM,
        lab.APIM_SUBSCRIPTION,
        {"properties": {"scope": f"/apis/{lab.API}", "displayName": "conformance", "state": "active"}},
    )
    return apim.subscription.list_secrets(lab.APIM_RG, lab.APIM, lab.APIM_SUBSCRIPTION).primary_key
