//! Which backend a try goes to: the route's target, a pool's priority groups and
//! weights among the members whose breakers are closed, and what each answer feeds
//! back into those breakers (docs/emulator.md, "Pool selection" and "Circuit breakers").

use rand::Rng;

use super::breaker::{self, Member, Rule};
use super::openai;
use super::policy::Target;
use super::prepare::{Own, Prepared, own};
use super::state::{DataPlaneState, Trip};
use crate::pipeline::Inner;
use crate::store::{Kind, Record, Store, key};

/// Where one try goes: a URL and the backend entity whose breaker it feeds.
pub(super) struct Pick {
    pub(super) url: String,
    pub(super) backend: Option<Record>,
}

fn backend_record(store: &Store, service_id: &str, id_or_name: &str) -> Option<Record> {
    let id = if id_or_name.starts_with('/') {
        id_or_name.to_string()
    } else {
        format!("{service_id}/backends/{id_or_name}")
    };
    store.get(&id).filter(|r| r.kind == Kind::Backend).cloned()
}

pub(super) fn pick(inner: &mut Inner, p: &Prepared, now: u64) -> Result<Pick, Own> {
    let dp = &mut inner.dataplane;
    let store = &inner.store;
    match &p.route.target {
        Target::Unsupported(why) => Err(own(500, why.clone())),
        Target::ServiceUrl => p
            .service_url
            .clone()
            .map(|url| Pick { url, backend: None })
            .ok_or_else(|| {
                own(
                    500,
                    "The API has no service URL and the policy sets no backend.",
                )
            }),
        Target::Urls(urls) => {
            let i = dp.rng.random_range(0..urls.len());
            Ok(Pick {
                url: urls[i].clone(),
                backend: None,
            })
        }
        Target::Backend(name) => {
            let Some(backend) = backend_record(store, &p.service_id, name) else {
                return Err(own(500, format!("Backend '{name}' does not exist.")));
            };
            let available = |r: &Record| {
                dp.breakers
                    .get(&key(&r.id))
                    .is_none_or(|b| b.available(now))
            };
            if backend.body["properties"]["type"].as_str() != Some("Pool") {
                if !available(&backend) {
                    return Err(own(
                        503,
                        format!("Backend {} is temporarily unavailable.", backend.name()),
                    ));
                }
                let url = backend.body["properties"]["url"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                return Ok(Pick {
                    url,
                    backend: Some(backend),
                });
            }
            let members = Member::of_pool(&backend.body);
            let records: Vec<Option<Record>> = members
                .iter()
                .map(|m| backend_record(store, &p.service_id, &m.id))
                .collect();
            let chosen = breaker::choose(
                &members,
                |m| {
                    let i = members.iter().position(|x| x == m).unwrap_or(0);
                    records[i].as_ref().is_some_and(available)
                },
                &mut dp.rng,
            );
            let Some(i) = chosen else {
                return Err(own(
                    503,
                    format!(
                        "Backend pool {} is temporarily unavailable.",
                        backend.name()
                    ),
                ));
            };
            let member = records[i].clone().expect("chosen members exist");
            Ok(Pick {
                url: member.body["properties"]["url"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                backend: Some(member),
            })
        }
    }
}

/// Feeds a backend's breaker with a response that arrived at `now`.
pub(super) fn feed(
    dp: &mut DataPlaneState,
    backend: &Record,
    answer: &openai::Answer,
    now: u64,
    scale: f64,
) {
    let Some(rule) = Rule::of_backend(&backend.body) else {
        return;
    };
    let breaker = dp.breakers.entry(key(&backend.id)).or_default();
    if let Some(until) = breaker.record(&rule, answer.status, answer.retry_after_ms, now, scale) {
        dp.trips.push(Trip {
            backend: backend.name().to_string(),
            status: answer.status,
            at_ms: now,
            until_ms: until,
        });
    }
}
