"""Fixtures of the conformance suite: one emulator for the session (both labs live on it),
the official clients pointed at it with their default api-versions, and the lab `aoai-lb
apply` makes. Nothing here reaches beyond 127.0.0.1."""

import json
import os
import subprocess

import pytest
from azure.mgmt.apimanagement import ApiManagementClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

import lab
from harness import binary, client_for, running_emulator


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """The suite's emulator (instant profile): both labs live on it."""
    config = tmp_path_factory.mktemp("emulator") / "emulator.json"
    config.write_text(json.dumps({"dataPlane": {"seed": 7}}))
    flags = ["--config", str(config)]
    for apim in (lab.APIM, lab.APPLY_APIM):
        flags += ["--seed-apim", f"{apim}@{lab.APIM_RG}"]
    with running_emulator(*flags) as running:
        yield running


@pytest.fixture(scope="session")
def resources(emulator):
    with client_for(ResourceManagementClient, emulator) as client:
        yield client


@pytest.fixture(scope="session")
def cognitive(emulator):
    with client_for(CognitiveServicesManagementClient, emulator) as client:
        yield client


@pytest.fixture(scope="session")
def apim(emulator):
    with client_for(ApiManagementClient, emulator) as client:
        yield client


@pytest.fixture(scope="session")
def authorization(emulator):
    with client_for(AuthorizationManagementClient, emulator) as client:
        yield client


class Gateway:
    """Where a client of the lab's API goes: the APIM gateway URL and a subscription key."""

    def __init__(self, url: str, key: str):
        self.url = url
        self.key = key

    def openai(self, **kwargs):
        from openai import AzureOpenAI

        return AzureOpenAI(
            azure_endpoint=self.url,
            api_key=self.key,
            api_version=lab.INFERENCE_API_VERSION,
            **kwargs,
        )


@pytest.fixture(scope="session")
def applied_lab(emulator, apim, tmp_path_factory):
    """The seed lab made by `aoai-lb apply apply-lab.yaml` on the suite's emulator."""
    state = tmp_path_factory.mktemp("apply") / "apply-lab.state.json"
    env = dict(os.environ, AOAI_LB_ARM_ENDPOINT=emulator.url, AOAI_LB_ACCESS_TOKEN="conformance")
    done = subprocess.run(
        [binary(), "apply", str(lab.APPLY_PLAN), "--yes", "--state", str(state), "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    service = apim.api_management_service.get(lab.APIM_RG, lab.APPLY_APIM)
    secrets = apim.subscription.list_secrets(lab.APIM_RG, lab.APPLY_APIM, lab.APPLY_SUBSCRIPTION)
    return Gateway(service.gateway_url, secrets.primary_key)
