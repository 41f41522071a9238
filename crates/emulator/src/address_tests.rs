//! Unit tests of the path parser (`address.rs`): every route the emulator serves.

use super::*;

const RG: &str = "/subscriptions/s1/resourceGroups/rg1";

fn rg() -> Rg {
    Rg {
        sub: "s1".into(),
        name: "rg1".into(),
    }
}

#[test]
fn resource_groups_and_accounts() {
    assert_eq!(parse(RG), Ok(Address::ResourceGroup(rg())));
    assert_eq!(
        parse("/SUBSCRIPTIONS/s1/resourcegroups/rg1/"),
        Ok(Address::ResourceGroup(rg()))
    );
    let acc = format!("{RG}/providers/microsoft.cognitiveservices/Accounts/MyAcc");
    assert_eq!(parse(&acc), Ok(Address::Account(rg(), "MyAcc".into())));
    assert_eq!(
        parse(&format!("{acc}/DEPLOYMENTS/gpt-4o")),
        Ok(Address::Deployment(rg(), "MyAcc".into(), "gpt-4o".into()))
    );
    assert_eq!(
        parse(&acc).unwrap().id(),
        format!("{RG}/providers/Microsoft.CognitiveServices/accounts/MyAcc")
    );
}

#[test]
fn a_group_s_resource_listing() {
    let path = format!("{RG}/resources");
    assert_eq!(parse(&path), Ok(Address::GroupResources(rg())));
    assert_eq!(parse(&path).unwrap().id(), path);
}

#[test]
fn deleted_accounts_and_operations() {
    assert_eq!(
        parse("/subscriptions/s1/providers/Microsoft.CognitiveServices/deletedAccounts"),
        Ok(Address::DeletedAccounts { sub: "s1".into() })
    );
    let purge = "/subscriptions/s1/providers/Microsoft.CognitiveServices/locations/westus/resourceGroups/rg1/deletedAccounts/a1";
    assert_eq!(
        parse(purge),
        Ok(Address::DeletedAccount {
            sub: "s1".into(),
            location: "westus".into(),
            rg: "rg1".into(),
            name: "a1".into()
        })
    );
    assert_eq!(parse(purge).unwrap().id(), purge);
    for poll in [Poll::Status, Poll::Result] {
        let p = operation_path("s1", Namespace::ApiManagement, "op1", poll);
        assert_eq!(
            parse(&p),
            Ok(Address::Operation {
                sub: "s1".into(),
                namespace: Namespace::ApiManagement,
                id: "op1".into(),
                poll
            })
        );
    }
}

#[test]
fn api_management_children() {
    let svc = format!("{RG}/providers/Microsoft.ApiManagement/service/apim1");
    assert_eq!(parse(&svc), Ok(Address::ApimService(rg(), "apim1".into())));
    let b = |x: &str| Address::Backend(rg(), "apim1".into(), x.into());
    assert_eq!(parse(&format!("{svc}/backends/b1")), Ok(b("b1")));
    assert_eq!(
        parse(&format!("{svc}/APIS/a1/Policies/Policy")),
        Ok(Address::ApiPolicy(rg(), "apim1".into(), "a1".into()))
    );
    assert_eq!(
        parse(&format!("{svc}/subscriptions/x/listsecrets")),
        Ok(Address::ListSecrets(rg(), "apim1".into(), "x".into()))
    );
    assert_eq!(
        parse(&format!("{svc}/apis/a1/policies/other")),
        Err(PathError::UnknownType(
            "Microsoft.ApiManagement".into(),
            "service/apis/policies".into()
        ))
    );
    let s = || "apim1".to_string();
    assert_eq!(
        parse(&format!("{svc}/Loggers/ai")),
        Ok(Address::Logger(rg(), s(), "ai".into()))
    );
    assert_eq!(
        parse(&format!("{svc}/loggers")),
        Ok(Address::ApimCollection(rg(), s(), ApimCollection::Loggers))
    );
    assert_eq!(
        parse(&format!("{svc}/diagnostics/applicationinsights")),
        Ok(Address::ServiceDiagnostic(
            rg(),
            s(),
            "applicationinsights".into()
        ))
    );
    let d = Address::ApiDiagnostic(rg(), s(), "a1".into(), "applicationinsights".into());
    assert_eq!(
        parse(&format!("{svc}/apis/a1/diagnostics/applicationinsights")),
        Ok(d.clone())
    );
    assert_eq!(d.parent(), Some(Address::Api(rg(), s(), "a1".into())));
    assert_eq!(
        parse(&format!("{svc}/apis/a1/diagnostics")),
        Ok(Address::ApiDiagnostics(rg(), s(), "a1".into()))
    );
    assert_eq!(
        parse(&format!("{svc}/diagnostics")),
        Ok(Address::ApimCollection(
            rg(),
            s(),
            ApimCollection::Diagnostics
        ))
    );
    assert_eq!(
        parse(&format!("{RG}/providers/Microsoft.Insights/components")),
        Ok(Address::Components {
            sub: "s1".into(),
            rg: Some("rg1".into())
        })
    );
    assert_eq!(
        parse("/subscriptions/s1/providers/Microsoft.Insights/components"),
        Ok(Address::Components {
            sub: "s1".into(),
            rg: None
        })
    );
    let c = format!("{RG}/providers/microsoft.insights/components/ai1");
    assert_eq!(parse(&c), Ok(Address::Component(rg(), "ai1".into())));
    assert_eq!(
        Address::Component(rg(), "ai1".into()).id(),
        format!("{RG}/providers/Microsoft.Insights/components/ai1")
    );
    let w = format!("{RG}/providers/microsoft.operationalinsights/Workspaces/law1");
    let ws = Address::Workspace(rg(), "law1".into());
    assert_eq!(parse(&w), Ok(ws.clone()));
    assert_eq!(
        ws.id(),
        format!("{RG}/providers/Microsoft.OperationalInsights/workspaces/law1")
    );
    assert_eq!(ws.namespace(), Namespace::OperationalInsights);
    for (path, rg_name, deleted) in [
        (
            format!("{RG}/providers/Microsoft.OperationalInsights/workspaces"),
            Some("rg1"),
            false,
        ),
        (
            format!("{RG}/providers/Microsoft.OperationalInsights/deletedWorkspaces"),
            Some("rg1"),
            true,
        ),
        (
            "/subscriptions/s1/providers/Microsoft.OperationalInsights/workspaces".to_string(),
            None,
            false,
        ),
        (
            "/subscriptions/s1/providers/Microsoft.OperationalInsights/deletedWorkspaces"
                .to_string(),
            None,
            true,
        ),
    ] {
        let listed = Address::Workspaces {
            sub: "s1".into(),
            rg: rg_name.map(str::to_string),
            deleted,
        };
        assert_eq!(parse(&path), Ok(listed.clone()), "{path}");
        assert_eq!(listed.id(), path);
    }
    assert_eq!(
        parse(&format!("{svc}/products/p1")),
        Err(PathError::UnknownType(
            "Microsoft.ApiManagement".into(),
            "service/products".into()
        ))
    );
}

#[test]
fn role_assignments_under_any_scope() {
    let scope = format!("{RG}/providers/Microsoft.DocumentDb/databaseAccounts/db");
    let p = format!("{scope}/providers/microsoft.authorization/roleassignments/g1");
    assert_eq!(
        parse(&p),
        Ok(Address::RoleAssignment {
            scope: scope.clone(),
            name: "g1".into()
        })
    );
    assert_eq!(
        parse("/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/g2"),
        Ok(Address::RoleAssignment {
            scope: "/subscriptions/s1".into(),
            name: "g2".into()
        })
    );
    // Percent-encoded slashes in a scope decode.
    assert_eq!(
        parse("/subscriptions/s1/resourceGroups/rg1%2Fproviders/Microsoft.Authorization/roleAssignments/g3")
            .unwrap()
            .id(),
        format!("{RG}/providers/Microsoft.Authorization/roleAssignments/g3")
    );
}

#[test]
fn collections_to_list() {
    let rg = rg();
    assert_eq!(
        parse("/subscriptions/s1/resources"),
        Ok(Address::SubscriptionResources { sub: "s1".into() })
    );
    assert_eq!(
        parse(
            "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/a/deployments"
        ),
        Ok(Address::Deployments(rg.clone(), "a".into()))
    );
    assert_eq!(
        parse("/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/a/providers/Microsoft.Authorization/roleAssignments"),
        Ok(Address::RoleAssignments {
            scope: "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/a".into()
        })
    );
    for (segment, c) in [
        ("backends", ApimCollection::Backends),
        ("apis", ApimCollection::Apis),
        ("subscriptions", ApimCollection::Subscriptions),
    ] {
        let addr = parse(&format!(
            "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/x/{segment}"
        ))
        .unwrap();
        assert_eq!(addr, Address::ApimCollection(rg.clone(), "x".into(), c));
        assert!(addr.id().ends_with(&format!("/service/x/{segment}")));
    }
}

#[test]
fn what_is_not_served() {
    assert_eq!(parse("/"), Err(PathError::NoRoute));
    assert_eq!(parse("/foo/bar"), Err(PathError::NoRoute));
    assert_eq!(parse("/subscriptions/s1"), Err(PathError::NoRoute));
    assert_eq!(parse(&format!("{RG}//x")), Err(PathError::NoRoute));
    assert_eq!(
        parse(&format!(
            "{RG}/providers/Microsoft.Storage/storageAccounts/x"
        )),
        Err(PathError::UnknownNamespace("Microsoft.Storage".into()))
    );
}

#[test]
fn parents_and_regions() {
    let d = Address::Deployment(rg(), "a".into(), "d".into());
    assert_eq!(d.parent(), Some(Address::Account(rg(), "a".into())));
    assert_eq!(
        d.parent().unwrap().parent(),
        Some(Address::ResourceGroup(rg()))
    );
    assert_eq!(region_key("West US 2"), "westus2");
}

#[test]
fn collections_of_whole_types() {
    assert_eq!(
        parse("/subscriptions/s1/resourcegroups"),
        Ok(Address::ResourceGroups { sub: "s1".into() })
    );
    let by_sub = "/subscriptions/s1/providers/Microsoft.CognitiveServices/accounts";
    let accounts = Address::Accounts {
        sub: "s1".into(),
        rg: None,
    };
    assert_eq!(parse(by_sub), Ok(accounts.clone()));
    assert_eq!(accounts.id(), by_sub);
    let by_group = format!("{RG}/providers/microsoft.cognitiveservices/ACCOUNTS");
    assert_eq!(
        parse(&by_group),
        Ok(Address::Accounts {
            sub: "s1".into(),
            rg: Some("rg1".into())
        })
    );
    assert_eq!(
        parse("/subscriptions/s1/providers/Microsoft.ApiManagement/service"),
        Ok(Address::ApimServices {
            sub: "s1".into(),
            rg: None
        })
    );
    assert_eq!(
        parse(&format!("{RG}/providers/Microsoft.ApiManagement/service")),
        Ok(Address::ApimServices {
            sub: "s1".into(),
            rg: Some("rg1".into())
        })
    );
    let policies = format!("{RG}/providers/Microsoft.ApiManagement/service/s/apis/a/policies");
    assert_eq!(
        parse(&policies),
        Ok(Address::ApiPolicies(rg(), "s".into(), "a".into()))
    );
    assert_eq!(parse(&policies).unwrap().id(), policies);
}

#[test]
fn account_keys_and_role_definitions() {
    let acc = format!("{RG}/providers/Microsoft.CognitiveServices/accounts/a");
    assert_eq!(
        parse(&format!("{acc}/listkeys")),
        Ok(Address::AccountKeys(rg(), "a".into(), KeyAction::List))
    );
    assert_eq!(
        parse(&format!("{acc}/regenerateKey")),
        Ok(Address::AccountKeys(
            rg(),
            "a".into(),
            KeyAction::Regenerate
        ))
    );
    let g = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";
    let def = format!("{acc}/providers/Microsoft.Authorization/roleDefinitions/{g}");
    assert_eq!(
        parse(&def),
        Ok(Address::RoleDefinition {
            scope: acc.clone(),
            id: g.into()
        })
    );
    assert_eq!(
        parse("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions"),
        Ok(Address::RoleDefinitions {
            scope: "/subscriptions/s1".into()
        })
    );
}

#[test]
fn the_catalog_lists() {
    let cog = "/subscriptions/s1/providers/Microsoft.CognitiveServices";
    for (path, location, list) in [
        (
            "locations/eastus/models",
            Some("eastus"),
            CatalogList::Models,
        ),
        (
            "locations/eastus/usages",
            Some("eastus"),
            CatalogList::Usages,
        ),
        ("modelCapacities", None, CatalogList::ModelCapacities),
    ] {
        let full = format!("{cog}/{path}");
        let addr = parse(&full).unwrap();
        assert_eq!(
            addr,
            Address::CatalogList {
                sub: "s1".into(),
                location: location.map(String::from),
                list,
            }
        );
        assert_eq!(addr.id(), full);
    }
    assert!(parse(&format!("{cog}/locations/eastus/somethingElse")).is_err());
}
