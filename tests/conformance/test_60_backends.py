"""azure-mgmt-apimanagement: backends for the lab's accounts (with a circuit breaker) and the
pool over them with priorities and weights."""

import datetime

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

import build
import lab

SCRATCH = "openai-scratch"


def test_backend_create_and_get(apim):
    for name, account in ((lab.BACKEND1, lab.ACCOUNT), (lab.BACKEND2, lab.ACCOUNT2)):
        created = apim.backend.create_or_update(
            lab.APIM_RG, lab.APIM, name, build.single_backend(account, f"Azure OpenAI {account}")
        )
        assert created.id == lab.backend_id(name)
        assert created.url == f"https://{account}.openai.azure.com/openai"
    got = apim.backend.get(lab.APIM_RG, lab.APIM, lab.BACKEND1)
    assert got.protocol == "http"
    rule = got.circuit_breaker.rules[0]
    assert rule.failure_condition.count == 1
    assert rule.failure_condition.interval == datetime.timedelta(seconds=10)
    assert rule.trip_duration == datetime.timedelta(seconds=10)
    assert rule.accept_retry_after is True


def test_backend_pool_with_priorities_and_weights(apim):
    pool = apim.backend.create_or_update(lab.APIM_RG, lab.APIM, lab.POOL, build.pool_backend())
    assert pool.type_properties_type == "Pool"
    got = apim.backend.get(lab.APIM_RG, lab.APIM, lab.POOL)
    assert got.type_properties_type == "Pool"
    assert [(s.id, s.priority, s.weight) for s in got.pool.services] == [
        (lab.backend_id(lab.BACKEND1), 1, 2),
        (lab.backend_id(lab.BACKEND2), 1, 1),
    ]


def test_backend_list_by_service(apim):
    names = {b.name for b in apim.backend.list_by_service(lab.APIM_RG, lab.APIM)}
    assert {lab.BACKEND1, lab.BACKEND2, lab.POOL} <= names


def test_backend_update(apim):
    updated = apim.backend.update(
        lab.APIM_RG, lab.APIM, lab.BACKEND2, "*", {"properties": {"description": "East US"}}
    )
    assert updated.description == "East US"
    got = apim.backend.get(lab.APIM_RG, lab.APIM, lab.BACKEND2)
    assert got.description == "East US"
    assert got.url == f"https://{lab.ACCOUNT2}.openai.azure.com/openai"


def test_backend_etag_and_if_match(apim):
    assert apim.backend.get_entity_tag(lab.APIM_RG, lab.APIM, lab.BACKEND1) is True
    with pytest.raises(HttpResponseError) as stale:
        apim.backend.update(
            lab.APIM_RG, lab.APIM, lab.BACKEND1, '"stale"', {"properties": {"description": "x"}}
        )
    assert stale.value.status_code == 412
    assert stale.value.error.code == "PreconditionFailed"
    assert apim.backend.get(lab.APIM_RG, lab.APIM, lab.BACKEND1).description != "x"


def test_backend_delete(apim):
    apim.backend.create_or_update(lab.APIM_RG, lab.APIM, SCRATCH, build.single_backend(lab.ACCOUNT, "scratch"))
    apim.backend.delete(lab.APIM_RG, lab.APIM, SCRATCH, "*")
    with pytest.raises(ResourceNotFoundError):
        apim.backend.get(lab.APIM_RG, lab.APIM, SCRATCH)
