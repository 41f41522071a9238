"""azure-mgmt-loganalytics (Microsoft.OperationalInsights 2025-07-01) and
azure-mgmt-applicationinsights (Microsoft.Insights components 2020-02-02): Log Analytics
workspaces created with the SDK's poller (a 201 `Creating` without operation URL, followed
through the workspace's provisioningState), soft-deleted, recovered and force-deleted; a
component made without a workspace gets a managed group and workspace that go with it."""

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.applicationinsights import ApplicationInsightsManagementClient
from azure.mgmt.loganalytics import LogAnalyticsManagementClient

import lab
from harness import client_for

RG = "rg-conformance-insights"
WORKSPACE = "law-conformance"
COMPONENT = "appi-conformance"


@pytest.fixture(scope="module")
def logs(emulator):
    with client_for(LogAnalyticsManagementClient, emulator) as client:
        yield client


@pytest.fixture(scope="module")
def insights(emulator):
    with client_for(ApplicationInsightsManagementClient, emulator) as client:
        yield client


@pytest.fixture(scope="module")
def group(resources):
    resources.resource_groups.create_or_update(RG, {"location": lab.LOCATION})
    return RG


def workspace_body(**properties):
    return {"location": lab.LOCATION, "properties": {"sku": {"name": "PerGB2018"}, **properties}}


def test_workspace_created_with_the_poller_read_and_listed(logs, group, emulator):
    seen = len(emulator.requests())
    created = logs.workspaces.begin_create_or_update(group, WORKSPACE, workspace_body()).result()
    # No operation URL: the poller read the workspace itself until it was Succeeded.
    calls = [(e["method"], e["status"]) for e in emulator.requests()[seen:]]
    assert calls == [("PUT", 201), ("GET", 200)]
    assert created.name == WORKSPACE
    assert created.properties.provisioning_state == "Succeeded"
    assert len(created.properties.customer_id) == 36
    assert created.properties.retention_in_days == 30
    got = logs.workspaces.get(group, WORKSPACE)
    assert got.properties.customer_id == created.properties.customer_id
    assert WORKSPACE in {w.name for w in logs.workspaces.list_by_resource_group(group)}
    assert WORKSPACE in {w.name for w in logs.workspaces.list()}
    updated = logs.workspaces.begin_create_or_update(
        group, WORKSPACE, workspace_body(retentionInDays=60)
    ).result()
    assert updated.properties.retention_in_days == 60
    assert updated.properties.customer_id == created.properties.customer_id


def test_workspace_soft_deleted_recovered_then_force_deleted(logs, group, resources):
    name = "law-conformance-soft"
    created = logs.workspaces.begin_create_or_update(group, name, workspace_body()).result()
    logs.workspaces.begin_delete(group, name).result()
    with pytest.raises(ResourceNotFoundError):
        logs.workspaces.get(group, name)
    assert name in {w.name for w in logs.deleted_workspaces.list_by_resource_group(group)}
    other = "rg-conformance-insights-other"
    resources.resource_groups.create_or_update(other, {"location": lab.LOCATION})
    with pytest.raises(HttpResponseError) as taken:
        logs.workspaces.begin_create_or_update(other, name, workspace_body()).result()
    assert taken.value.status_code == 409
    recovered = logs.workspaces.begin_create_or_update(group, name, workspace_body()).result()
    assert recovered.properties.customer_id == created.properties.customer_id
    logs.workspaces.begin_delete(group, name, force=True).result()
    assert name not in {w.name for w in logs.deleted_workspaces.list_by_resource_group(group)}
    with pytest.raises(ResourceNotFoundError):
        logs.workspaces.get(group, name)


def test_component_without_workspace_gets_a_managed_one(insights, resources, group):
    body = {"location": lab.LOCATION, "kind": "web", "application_type": "web"}
    component = insights.components.create_or_update(group, COMPONENT, body)
    assert component.ingestion_mode == "LogAnalytics"
    managed_rg = f"ai_{COMPONENT}_{component.app_id}_managed"
    assert component.workspace_resource_id.endswith(
        f"/resourceGroups/{managed_rg}/providers/Microsoft.OperationalInsights/workspaces/managed-{COMPONENT}-ws"
    )
    assert resources.resource_groups.get(managed_rg).managed_by == component.id
    tagged = insights.components.update_tags(group, COMPONENT, {"tags": {"suite": "conformance"}})
    assert tagged.tags == {"suite": "conformance"}
    insights.components.delete(group, COMPONENT)
    assert resources.resource_groups.check_existence(managed_rg) is False


def test_component_with_a_workspace_makes_no_managed_group(insights, logs, resources, group):
    ws = logs.workspaces.begin_create_or_update(group, WORKSPACE, workspace_body()).result()
    before = {g.name for g in resources.resource_groups.list()}
    body = {
        "location": lab.LOCATION,
        "kind": "web",
        "application_type": "web",
        "workspace_resource_id": ws.id,
    }
    component = insights.components.create_or_update(group, "appi-conformance-ws", body)
    assert component.workspace_resource_id == ws.id
    assert {g.name for g in resources.resource_groups.list()} == before
    insights.components.delete(group, "appi-conformance-ws")
    assert logs.workspaces.get(group, WORKSPACE).name == WORKSPACE
