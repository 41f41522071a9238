//! The seeded state: resources that exist before the first request (API Management
//! services, user-assigned identities, their resource groups, extra principals). Seeds
//! are long replicated, so role assignments may name them at once.

use serde_json::json;

use super::address::{Address, Rg, region_key};
use super::config::{Config, SeedApimIdentity};
use super::handlers::{TENANT_ID, service_view};
use super::reply::uuid_like;
use super::store::{Kind, Principal, Record, Store};

fn ensure_group(store: &mut Store, rg: &Rg, location: &str) {
    if store.exists(&rg.id()) {
        return;
    }
    store.put(Record::new(
        Kind::ResourceGroup,
        rg.id(),
        json!({
            "id": rg.id(),
            "name": rg.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": region_key(location),
            "properties": {"provisioningState": "Succeeded"},
        }),
    ));
}

fn principal(store: &mut Store, id: &str, principal_type: &str, owner: &str) {
    store.add_principal(Principal {
        id: id.to_string(),
        principal_type: principal_type.to_string(),
        issued_ms: None,
        owner: owner.to_string(),
    });
}

/// Adds every seed of `config` that `store` does not hold yet.
pub fn apply(config: &Config, store: &mut Store, iso: &str) {
    for s in &config.seed.apim {
        let rg = Rg {
            sub: s.subscription.clone(),
            name: s.resource_group.clone(),
        };
        ensure_group(store, &rg, &s.location);
        let id = Address::ApimService(rg.clone(), s.name.clone()).id();
        if store.exists(&id) {
            continue;
        }
        let mut view = service_view(&rg, &s.name, &s.location, &s.sku, iso);
        if s.identity == SeedApimIdentity::SystemAssigned {
            let p = uuid_like();
            principal(store, &p, "ServicePrincipal", &id);
            view["identity"] =
                json!({"type": "SystemAssigned", "principalId": p, "tenantId": TENANT_ID});
        }
        store.put(Record::new(Kind::ApimService, id, view));
    }
    for s in &config.seed.user_assigned_identities {
        let rg = Rg {
            sub: s.subscription.clone(),
            name: s.resource_group.clone(),
        };
        ensure_group(store, &rg, &s.location);
        let id = Address::Identity(rg.clone(), s.name.clone()).id();
        if store.exists(&id) {
            continue;
        }
        let p = s.principal_id.clone().unwrap_or_else(uuid_like);
        let client = s.client_id.clone().unwrap_or_else(uuid_like);
        principal(store, &p, "ServicePrincipal", &id);
        store.put(Record::new(
            Kind::Identity,
            id.clone(),
            json!({
                "id": id,
                "name": s.name,
                "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                "location": s.location,
                "tags": {},
                "properties": {"tenantId": TENANT_ID, "principalId": p, "clientId": client},
            }),
        ));
    }
    for p in &config.seed.principals {
        if store.principal(&p.id).is_none() {
            principal(store, &p.id, &p.principal_type, "");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SeedApim, SeedIdentity};

    #[test]
    fn seeds_create_their_groups_once() {
        let mut c = Config::default();
        c.seed.apim.push(SeedApim {
            name: "apim1".into(),
            resource_group: "rg1".into(),
            subscription: "s".into(),
            location: "westus".into(),
            sku: "Developer".into(),
            identity: SeedApimIdentity::SystemAssigned,
        });
        c.seed.user_assigned_identities.push(SeedIdentity {
            name: "id1".into(),
            resource_group: "rg1".into(),
            subscription: "s".into(),
            location: "westus".into(),
            principal_id: Some("11111111-1111-1111-1111-111111111111".into()),
            client_id: None,
        });
        let mut store = Store::default();
        apply(&c, &mut store, "t");
        let before = store.clone();
        apply(&c, &mut store, "t");
        assert_eq!(store, before, "seeding twice changes nothing");
        assert_eq!(store.resources.len(), 3);
        assert_eq!(store.principals.len(), 2);
        assert!(
            store
                .principal("11111111-1111-1111-1111-111111111111")
                .is_some()
        );
        let svc = store
            .get("/subscriptions/s/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apim1")
            .unwrap();
        assert_eq!(
            svc.body["properties"]["gatewayUrl"],
            "https://apim1.azure-api.net"
        );
        assert_eq!(svc.body["identity"]["type"], "SystemAssigned");
    }
}
