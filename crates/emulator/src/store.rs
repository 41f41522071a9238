//! The emulator's in-memory state: every resource as ARM would return it, soft-deleted
//! accounts, the directory's principals and the long-running operations. BTreeMaps keyed
//! by lower-cased id give case-insensitive lookups and deterministic dumps; the whole
//! store is one JSON document, written atomically to `--state-file` after each change.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ops::Operation;

/// What a record is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ResourceGroup,
    Account,
    Deployment,
    ApimService,
    Identity,
    RoleAssignment,
    Backend,
    Api,
    ApiPolicy,
    /// An operation of an API, created by an OpenAPI import.
    ApiOperation,
    ApimSubscription,
    /// An API Management logger (its credentials in `private`).
    Logger,
    /// A diagnostic of an API Management service or of one of its APIs.
    Diagnostic,
    /// An Application Insights component.
    Component,
    /// A Log Analytics workspace.
    Workspace,
}

/// One resource.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub kind: Kind,
    /// The id as first written.
    pub id: String,
    /// The resource as GET returns it.
    pub body: Value,
    /// What GET never shows: subscription keys, a policy as it was sent.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub private: Value,
    /// The entity tag API Management sends as `ETag` and compares with `If-Match`; new
    /// at every change (`touch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// A new entity tag in API Management's form: eight bytes in base64, `AAAAAAAAFYg=`
/// (the `ETag` headers of the Azure PowerShell ApiManagement session records, e.g.
/// BackendCrudTest.json, quote it: `"AAAAAAAAFYg="`).
pub fn new_etag() -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = rand::random::<u64>().to_be_bytes();
    let mut out = String::with_capacity(12);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out.push('=');
    out
}

impl Record {
    pub fn new(kind: Kind, id: String, body: Value) -> Record {
        let mut record = Record {
            kind,
            id,
            body,
            private: Value::Null,
            etag: None,
        };
        record.touch();
        record
    }

    /// A new entity tag, after a change; a body that shows an `etag` (the APIM service)
    /// shows the new one.
    pub fn touch(&mut self) {
        let etag = new_etag();
        if self.kind == Kind::ApimService
            && let Some(obj) = self.body.as_object_mut()
        {
            obj.insert("etag".into(), Value::from(etag.clone()));
        }
        self.etag = Some(etag);
    }

    pub fn provisioning_state(&self) -> Option<&str> {
        self.body
            .pointer("/properties/provisioningState")
            .and_then(Value::as_str)
    }

    pub fn set_provisioning_state(&mut self, state: &str) {
        if let Some(props) = self
            .body
            .get_mut("properties")
            .and_then(Value::as_object_mut)
        {
            props.insert("provisioningState".into(), Value::from(state));
        }
    }

    pub fn name(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or_default()
    }
}

/// A soft-deleted Cognitive Services account, kept until purged.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeletedAccount {
    pub sub: String,
    pub resource_group: String,
    pub location: String,
    pub account: Record,
    /// Its deployments, restored with it.
    pub children: Vec<Record>,
    pub deletion_date: String,
}

impl DeletedAccount {
    pub fn key(sub: &str, name: &str) -> String {
        format!("{sub}/{name}").to_ascii_lowercase()
    }

    pub fn id(&self) -> String {
        crate::ids::deleted_account(
            &self.sub,
            &super::address::region_key(&self.location),
            &self.resource_group,
            self.account.name(),
        )
    }

    /// As `deletedAccounts` lists it.
    pub fn view(&self) -> Value {
        let mut v = self.account.body.clone();
        v["id"] = Value::from(self.id());
        v["type"] = Value::from("Microsoft.CognitiveServices/deletedAccounts");
        if let Some(p) = v.get_mut("properties").and_then(Value::as_object_mut) {
            p.insert(
                "deletionDate".into(),
                Value::from(self.deletion_date.clone()),
            );
            // Azure keeps a deleted account 48 hours ("Recover or purge deleted Azure
            // AI services resources", learn.microsoft.com); GetDeletedAccount.json
            // (azure-rest-api-specs) returns both dates.
            let purge = crate::clock::iso_plus_hours(&self.deletion_date, 48)
                .unwrap_or_else(|| self.deletion_date.clone());
            p.insert("scheduledPurgeDate".into(), Value::from(purge));
            p.insert("provisioningState".into(), Value::from("Succeeded"));
        }
        v
    }
}

/// A directory principal the emulator knows: an identity it issued, or a seeded one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub id: String,
    pub principal_type: String,
    /// When it was issued (ms since start); None: it existed before, long replicated.
    pub issued_ms: Option<u64>,
    /// The resource whose identity it is (empty for seeded principals).
    pub owner: String,
}

/// Everything the emulator holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Store {
    pub resources: BTreeMap<String, Record>,
    pub deleted: BTreeMap<String, DeletedAccount>,
    /// Soft-deleted Log Analytics workspaces, by lower-cased id, kept until a PUT of the
    /// same name recovers them (handlers/workspaces.rs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deleted_workspaces: BTreeMap<String, Record>,
    pub principals: BTreeMap<String, Principal>,
    pub operations: BTreeMap<String, Operation>,
}

pub fn key(id: &str) -> String {
    id.to_ascii_lowercase()
}

impl Store {
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.resources.get(&key(id))
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Record> {
        self.resources.get_mut(&key(id))
    }

    pub fn exists(&self, id: &str) -> bool {
        self.resources.contains_key(&key(id))
    }

    /// Inserts or replaces; an existing record keeps the id as first written.
    pub fn put(&mut self, mut record: Record) {
        let k = key(&record.id);
        if let Some(old) = self.resources.get(&k) {
            record.id = old.id.clone();
            // What a new version does not set (an account's keys) stays with the resource.
            if record.private.is_null() && old.kind == record.kind {
                record.private = old.private.clone();
            }
            if let Some(obj) = record.body.as_object_mut() {
                for field in ["id", "name"] {
                    if let (true, Some(first)) = (obj.contains_key(field), old.body.get(field)) {
                        obj.insert(field.into(), first.clone());
                    }
                }
            }
        }
        self.resources.insert(k, record);
    }

    /// Records strictly below `id` (children, role assignments on it, ...).
    pub fn below(&self, id: &str) -> impl Iterator<Item = &Record> {
        let prefix = format!("{}/", key(id));
        self.resources
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, r)| r)
    }

    /// Removes `id` and everything below it; returns them, parent first.
    pub fn remove_tree(&mut self, id: &str) -> Vec<Record> {
        let k = key(id);
        let prefix = format!("{k}/");
        let keys: Vec<String> = self
            .resources
            .keys()
            .filter(|x| **x == k || x.starts_with(&prefix))
            .cloned()
            .collect();
        keys.iter()
            .filter_map(|x| self.resources.remove(x))
            .collect()
    }

    /// Moves an account (and its deployments) to the soft-deleted set.
    pub fn soft_delete_account(&mut self, id: &str, now_iso: &str) {
        let removed = self.remove_tree(id);
        let Some(account) = removed.first().filter(|r| r.kind == Kind::Account).cloned() else {
            return;
        };
        let mut account = account;
        account.set_provisioning_state("Succeeded");
        let children = removed
            .into_iter()
            .skip(1)
            .filter(|r| r.kind == Kind::Deployment)
            .collect();
        let parts: Vec<&str> = account.id.split('/').collect();
        let (sub, rg) = (parts[2].to_string(), parts[4].to_string());
        let location = account.body["location"]
            .as_str()
            .unwrap_or("westus")
            .to_string();
        let entry = DeletedAccount {
            sub: sub.clone(),
            resource_group: rg,
            location,
            children,
            deletion_date: now_iso.to_string(),
            account,
        };
        let k = DeletedAccount::key(&sub, entry.account.name());
        self.deleted.insert(k, entry);
    }

    /// Moves a Log Analytics workspace to the soft-deleted ones (handlers/workspaces.rs),
    /// where the recorded `deletedWorkspaces` list shows it `Succeeded`.
    pub fn soft_delete_workspace(&mut self, id: &str) {
        let removed = self.remove_tree(id);
        if let Some(mut ws) = removed
            .into_iter()
            .next()
            .filter(|r| r.kind == Kind::Workspace)
        {
            ws.set_provisioning_state("Succeeded");
            self.deleted_workspaces.insert(key(&ws.id), ws);
        }
    }

    /// Removes, with everything in them, the resource groups `managedBy` the resource
    /// `owner` (an Application Insights component's managed workspace group).
    pub fn remove_managed_by(&mut self, owner: &str) {
        let owned: Vec<String> = self
            .resources
            .values()
            .filter(|r| r.kind == Kind::ResourceGroup)
            .filter(|r| {
                r.body["managedBy"]
                    .as_str()
                    .is_some_and(|m| key(m) == key(owner))
            })
            .map(|r| r.id.clone())
            .collect();
        for group in owned {
            self.remove_tree(&group);
        }
    }

    /// The principal with this id, if the directory knows it.
    pub fn principal(&self, id: &str) -> Option<&Principal> {
        self.principals.get(&key(id))
    }

    pub fn add_principal(&mut self, p: Principal) {
        self.principals.insert(key(&p.id), p);
    }

    /// Writes the store to `path` atomically (a temporary file renamed over it).
    pub fn persist(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }

    /// Reads a store written by `persist`; `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> std::io::Result<Option<Store>> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is not an emulator state file: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(kind: Kind, id: &str) -> Record {
        let name = id.rsplit('/').next().unwrap();
        Record::new(
            kind,
            id.into(),
            json!({"id": id, "name": name, "properties": {}}),
        )
    }

    #[test]
    fn ids_are_case_insensitive_and_keep_their_first_spelling() {
        let mut s = Store::default();
        s.put(rec(
            Kind::ResourceGroup,
            "/subscriptions/s/resourceGroups/RG",
        ));
        s.put(rec(
            Kind::ResourceGroup,
            "/subscriptions/s/resourcegroups/rg",
        ));
        assert_eq!(s.resources.len(), 1);
        let r = s.get("/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG").unwrap();
        assert_eq!(r.id, "/subscriptions/s/resourceGroups/RG");
        assert_eq!(r.body["id"], "/subscriptions/s/resourceGroups/RG");
        assert_eq!(r.body["name"], "RG");
    }

    #[test]
    fn trees_remove_children_but_not_siblings() {
        let mut s = Store::default();
        let a =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a";
        s.put(rec(Kind::Account, a));
        s.put(rec(Kind::Account, &format!("{a}2")));
        s.put(rec(Kind::Deployment, &format!("{a}/deployments/d")));
        assert_eq!(s.below(a).count(), 1);
        s.soft_delete_account(a, "2024-01-01T00:00:00.000Z");
        assert_eq!(s.resources.len(), 1);
        let d = &s.deleted[&DeletedAccount::key("s", "a")];
        assert_eq!(d.children.len(), 1);
        assert_eq!(
            d.id(),
            "/subscriptions/s/providers/Microsoft.CognitiveServices/locations/westus/resourceGroups/rg/deletedAccounts/a"
        );
    }

    #[test]
    fn entity_tags_are_eight_bytes_in_base64_and_change() {
        let a = new_etag();
        assert_eq!(a.len(), 12);
        assert!(a.ends_with('='));
        assert!(
            a[..11]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        );
        let mut r = rec(
            Kind::ApimService,
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/x",
        );
        let first = r.etag.clone().unwrap();
        r.touch();
        assert_ne!(r.etag.as_deref(), Some(first.as_str()));
        assert_eq!(r.body["etag"].as_str(), r.etag.as_deref());
    }

    #[test]
    fn persist_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(Store::load(&path).unwrap(), None);
        let mut s = Store::default();
        s.put(rec(
            Kind::ResourceGroup,
            "/subscriptions/s/resourceGroups/rg",
        ));
        s.persist(&path).unwrap();
        assert_eq!(Store::load(&path).unwrap(), Some(s));
        std::fs::write(&path, "nonsense").unwrap();
        assert!(Store::load(&path).is_err());
    }
}
