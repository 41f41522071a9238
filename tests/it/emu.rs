//! An in-process emulator for end-to-end tests, with its test hooks, and the binary
//! pointed at it.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use aoai_lb::core::ids;
use aoai_lb::core::model::Model;
use aoai_lb::emulator::{Config, Running};
use serde_json::Value;

use crate::util::aoai_lb;

pub const TOKEN: &str = "e2e-token-that-must-never-be-printed";

pub struct Emu {
    rt: tokio::runtime::Runtime,
    running: Option<Running>,
    http: reqwest::Client,
}

/// The emulator configuration that seeds what a plan expects to exist.
/// The emulator `--emulator` would start for a plan, with a fixed data-plane seed: the
/// backends the gateway picks are then the same at every run, so a test that runs verify
/// (a chi-square test at 1%, which refuses one fair split in a hundred) cannot flake.
/// A test that wants other draws sets its own seed.
pub fn seeded_for(model: &Model) -> Config {
    let mut config = aoai_lb::emulated::config_for_plan(model);
    config.data_plane.seed.get_or_insert(7);
    config
}

impl Emu {
    pub fn start(config: Config) -> Emu {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt.block_on(aoai_lb::emulator::start(config, 0)).unwrap();
        Emu {
            rt,
            running: Some(running),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self) -> String {
        self.running.as_ref().unwrap().url()
    }

    /// The token the test hooks require (`x-aoai-lb-emulator-token`).
    pub fn hook_token(&self) -> String {
        self.running.as_ref().unwrap().hook_token().to_string()
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.url());
        self.rt.block_on(async {
            let mut req = self
                .http
                .request(method, url)
                .header("authorization", "Bearer test")
                .header(aoai_lb::emulator::HOOK_TOKEN_HEADER, self.hook_token());
            if let Some(b) = body {
                req = req.json(&b);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    /// The resource the emulator holds whose id ends with `id` (a whole id, or its tail
    /// such as `/accounts/NAME`), ignoring case as ARM does.
    pub fn resource(&self, id: &str) -> Option<Value> {
        let want = id.to_ascii_lowercase();
        self.state().into_iter().find(|r| {
            r["id"]
                .as_str()
                .is_some_and(|i| i.to_ascii_lowercase().ends_with(&want))
        })
    }

    /// Every resource the emulator holds (`/_emulator/state`).
    pub fn state(&self) -> Vec<Value> {
        match self.call(reqwest::Method::GET, "/_emulator/state", None).1 {
            Value::Array(a) => a,
            other => panic!("state dump is not a list: {other}"),
        }
    }

    pub fn requests(&self) -> Vec<Value> {
        self.call(reqwest::Method::GET, "/_emulator/requests", None)
            .1
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn set_faults(&self, faults: Value) {
        let (status, _) = self.call(reqwest::Method::PUT, "/_emulator/faults", Some(faults));
        assert!(status < 300, "faults not accepted: {status}");
    }

    pub fn get(&self, id: &str, api_version: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::GET,
            &format!("{id}?api-version={api_version}"),
            None,
        )
    }

    pub fn put(&self, id: &str, api_version: &str, body: Value) -> (u16, Value) {
        self.call(
            reqwest::Method::PUT,
            &format!("{id}?api-version={api_version}"),
            Some(body),
        )
    }

    pub fn patch(&self, id: &str, api_version: &str, body: Value) -> (u16, Value) {
        self.call(
            reqwest::Method::PATCH,
            &format!("{id}?api-version={api_version}"),
            Some(body),
        )
    }

    /// GET of a path with its query as given.
    pub fn get_raw(&self, path_and_query: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path_and_query, None)
    }

    pub fn delete(&self, id: &str, api_version: &str) -> u16 {
        self.call(
            reqwest::Method::DELETE,
            &format!("{id}?api-version={api_version}"),
            None,
        )
        .0
    }

    /// `aoai-lb` run in `dir` against this emulator, with a token and a state file in `dir`.
    pub fn cli(&self, dir: &Path) -> Command {
        let mut cmd = aoai_lb(dir);
        cmd.env("AOAI_LB_ARM_ENDPOINT", self.url())
            .env("AOAI_LB_ACCESS_TOKEN", TOKEN)
            .env("AOAI_LB_STATE", dir.join("state.json"));
        cmd
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.shutdown());
        }
    }
}

/// Resources in the emulator that aoai-lb would own: tagged as ours, or made inside the
/// APIM service, or role assignments (seeded services and identities excluded). An API's
/// operations are API Management's, made by the import: they go with the API.
pub fn ours_in(dump: &[Value]) -> Vec<String> {
    dump.iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str).map(|id| (id, r)))
        .filter(|(id, r)| {
            let lower = id.to_lowercase();
            if lower.contains("/deletedaccounts/") || lower.contains("/operations/") {
                return false;
            }
            r.pointer("/tags/managed-by").and_then(Value::as_str) == Some("aoai-lb")
                || lower.contains("/service/")
                    && (lower.contains("/backends/")
                        || lower.contains("/apis/")
                        || lower.contains("/subscriptions/")
                            && lower.matches("/subscriptions/").count() > 1)
                || lower.contains("/roleassignments/")
        })
        .map(|(id, _)| id.to_string())
        .collect()
}

/// Ids the state file lists.
pub fn state_ids(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "{\"resources\":[]}".into());
    let v: Value = serde_json::from_str(&text).expect("the state file always parses");
    v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

/// Whether an ARM id (or request path) is an account itself, not one of its children
/// (deployments, role assignments under it).
pub fn is_account(id: &str) -> bool {
    let id = id.split('?').next().unwrap_or(id);
    id.rsplit_once("/accounts/")
        .is_some_and(|(_, name)| !name.is_empty() && !name.contains('/'))
}

/// How many account PUTs the emulator has received.
pub fn account_puts(emu: &Emu) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r["method"] == "PUT" && r["path"].as_str().is_some_and(is_account))
        .count()
}

/// Ours in the emulator but not in the state: orphans.
pub fn orphans(emu: &Emu, state: &Path) -> Vec<String> {
    let listed: Vec<String> = state_ids(state).iter().map(|s| s.to_lowercase()).collect();
    ours_in(&emu.state())
        .into_iter()
        .filter(|id| !listed.contains(&id.to_lowercase()))
        .collect()
}

/// The seeded APIM service without the fields every write changes.
pub fn apim_service(emu: &Emu, model: &Model) -> Value {
    let id = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let (status, mut v) = emu.get(&id, ids::api_version::API_MANAGEMENT);
    assert_eq!(status, 200);
    if let Some(o) = v.as_object_mut() {
        o.remove("etag");
        o.remove("systemData");
    }
    v
}
