"""azure-mgmt-authorization at its default api-versions: the built-in role the gateway needs,
and role assignments for the APIM identity on the lab's accounts."""

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

import build
import lab


@pytest.fixture(scope="module")
def principal(resources, cognitive, apim):
    build.accounts(resources, cognitive)
    return build.identity(apim)


def test_role_definition_by_name_filter(authorization):
    scope = f"/subscriptions/{lab.SUBSCRIPTION}"
    found = list(
        authorization.role_definitions.list(
            scope, filter=f"roleName eq '{lab.OPENAI_USER_ROLE_NAME}'"
        )
    )
    assert [d.role_name for d in found] == [lab.OPENAI_USER_ROLE_NAME]
    assert found[0].name == lab.OPENAI_USER_ROLE
    assert found[0].id.endswith(f"/providers/Microsoft.Authorization/roleDefinitions/{lab.OPENAI_USER_ROLE}")


def test_role_definition_get_by_id(authorization):
    got = authorization.role_definitions.get(f"/subscriptions/{lab.SUBSCRIPTION}", lab.OPENAI_USER_ROLE)
    assert got.role_name == lab.OPENAI_USER_ROLE_NAME
    assert got.role_type == "BuiltInRole"


def test_role_assignment_create_and_get(authorization, principal):
    for account in (lab.ACCOUNT, lab.ACCOUNT2):
        scope = lab.account_id(account)
        name = build.role_assignment_name(scope, principal)
        created = authorization.role_assignments.create(
            scope,
            name,
            RoleAssignmentCreateParameters(
                role_definition_id=lab.role_definition_id(),
                principal_id=principal,
                principal_type="ServicePrincipal",
            ),
        )
        assert created.name == name
        assert created.principal_id == principal
        assert created.scope == scope
        got = authorization.role_assignments.get(scope, name)
        assert got.role_definition_id == lab.role_definition_id()
        assert got.principal_type == "ServicePrincipal"


def test_role_assignment_list_for_scope(authorization, principal):
    scope = lab.account_id(lab.ACCOUNT)
    listed = list(authorization.role_assignments.list_for_scope(scope))
    assert build.role_assignment_name(scope, principal) in {a.name for a in listed}


def test_role_assignment_list_by_principal(authorization, principal):
    listed = list(
        authorization.role_assignments.list_for_subscription(filter=f"principalId eq '{principal}'")
    )
    assert {a.scope for a in listed} == {lab.account_id(lab.ACCOUNT), lab.account_id(lab.ACCOUNT2)}
    assert all(a.principal_id == principal for a in listed)


def test_role_assignment_delete(authorization, principal):
    scope = lab.rg_id()
    name = build.role_assignment_name(scope, principal)
    authorization.role_assignments.create(
        scope,
        name,
        RoleAssignmentCreateParameters(
            role_definition_id=lab.role_definition_id(), principal_id=principal
        ),
    )
    deleted = authorization.role_assignments.delete(scope, name)
    assert deleted is None or deleted.name == name
    with pytest.raises(ResourceNotFoundError):
        authorization.role_assignments.get(scope, name)
