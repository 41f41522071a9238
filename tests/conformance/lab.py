"""Names of the seed lab the suite builds, shared by its test modules.

Two labs live on the one emulator: the one the official SDKs build step by step (rg-conformance,
two accounts, APIM service apim-conformance), and the one `aoai-lb apply` makes from
apply-lab.yaml (its own group, accounts and APIM service), so neither disturbs the other.
"""

from pathlib import Path

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# The SDK-built lab.
RG = "rg-conformance"
LOCATION = "westus"
ACCOUNT = "aoai-conf-westus"
ACCOUNT2 = "aoai-conf-eastus"
LOCATION2 = "eastus"
DEPLOYMENT = "gpt-4o"
APIM_RG = "rg-apim"
APIM = "apim-conformance"
API = "azure-openai"
API_PATH = "openai"
SPEC = ROOT / "specs" / "inference" / "2024-10-21" / "inference.json"
BACKEND1 = "openai-westus"
BACKEND2 = "openai-eastus"
POOL = "openai-pool"
APIM_SUBSCRIPTION = "conformance-clients"

# The lab `aoai-lb apply` makes (apply-lab.yaml).
APPLY_PLAN = HERE / "apply-lab.yaml"
APPLY_RG = "rg-conformance-apply"
APPLY_APIM = "apim-conformance-apply"
APPLY_SUBSCRIPTION = "conformance-apply-clients"

# Built-in role "Cognitive Services OpenAI User" (its id is the same in every tenant).
OPENAI_USER_ROLE = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
OPENAI_USER_ROLE_NAME = "Cognitive Services OpenAI User"

# The data-plane api-version the openai package is told to use (a GA inference version).
INFERENCE_API_VERSION = "2024-10-21"


def rg_id(rg: str = RG) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}"


def account_id(name: str = ACCOUNT, rg: str = RG) -> str:
    return f"{rg_id(rg)}/providers/Microsoft.CognitiveServices/accounts/{name}"


def apim_id(name: str = APIM) -> str:
    return f"{rg_id(APIM_RG)}/providers/Microsoft.ApiManagement/service/{name}"


def backend_id(name: str, service: str = APIM) -> str:
    return f"{apim_id(service)}/backends/{name}"


def role_definition_id(role: str = OPENAI_USER_ROLE) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{role}"
