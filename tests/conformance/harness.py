"""The suite's plumbing: starting an emulator, and pointing the official clients at it.

The emulator is the binary's own `aoai-lb emulator --port 0` (tests/conformance/run builds it;
AOAI_LB_BIN names it). Its first stdout line carries the URL, the second the test hooks' token.
"""


from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

import lab

ROOT = Path(__file__).resolve().parents[2]


class FixedToken:
    """A TokenCredential with one fixed token: the emulator accepts any bearer token."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken("conformance-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        return AccessTokenInfo("conformance-token", int(time.time()) + 3600)


class LoopbackBearerPolicy(ARMChallengeAuthenticationPolicy):
    """ARM's bearer policy, allowed over plain http to the loopback emulator only.

    azure-core refuses a bearer token on a non-https URL unless the request's context says
    `enforce_https: False` (its per-operation `enforce_https` option); this policy sets it
    for 127.0.0.1 and leaves every other URL to the normal check.
    """

    def on_request(self, request):
        if request.http_request.url.startswith("http://127.0.0.1:"):
            request.context["enforce_https"] = False
        return super().on_request(request)


class Emulator:
    """A running `aoai-lb emulator`: its URL, and its test hooks (`/_emulator/...`)."""

    def __init__(self, proc: subprocess.Popen, url: str, token: str):
        self.proc = proc
        self.url = url
        self._token = token

    def hook(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("x-aoai-lb-emulator-token", self._token)
        if data is not None:
            req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def requests(self):
        """The emulator's request log (ARM requests only)."""
        return self.hook("GET", "/_emulator/requests")


def binary() -> str:
    path = os.environ.get("AOAI_LB_BIN", str(ROOT / "target" / "debug" / "aoai-lb"))
    if not Path(path).exists():
        pytest.exit(f"{path} is missing: run tests/conformance/run (it builds it)", 2)
    return path


@contextlib.contextmanager
def running_emulator(*flags: str):
    """`aoai-lb emulator --port 0 FLAGS...`, stopped on leaving the block."""
    args = [binary(), "emulator", "--port", "0", *flags]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
    )
    try:
        first, second = proc.stdout.readline(), proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)", first)
        token = re.search(r"x-aoai-lb-emulator-token: ([0-9a-f]+)", second)
        assert url and token, f"unexpected emulator banner: {first!r} {second!r}"
        yield Emulator(proc, url.group(1), token.group(1))
    finally:
        proc.stdout.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client_for(cls, emulator, **kwargs):
    """An official management client of class CLS pointed at EMULATOR."""
    credential = FixedToken()
    return cls(
        credential,
        lab.SUBSCRIPTION,
        base_url=emulator.url,
        authentication_policy=LoopbackBearerPolicy(
            credential, "https://management.azure.com/.default"
        ),
        # The emulator's operations under the instant profile finish at their first poll;
        # no client-side wait between polls beyond what the emulator's Retry-After says.
        polling_interval=0,
        **kwargs,
    )
