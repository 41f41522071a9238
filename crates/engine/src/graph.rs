//! A dependency-graph walker that knows nothing about Azure: nodes with dependencies,
//! each started as soon as everything it depends on is done, at most `parallelism` at
//! once (one semaphore, here), and everything downstream of a failure skipped.
//! Cancellation stops new starts and lets the running ones finish.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::task::JoinSet;

#[derive(Clone, Debug)]
pub struct Node<T> {
    pub key: String,
    /// Keys of nodes that must finish first. Keys not in the graph count as done.
    pub deps: Vec<String>,
    pub item: T,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(String),
    /// A dependency failed or was skipped.
    Skipped,
    /// Not started: the walk was cancelled.
    Cancelled,
}

/// A flag the caller sets (on Ctrl-C) to stop new work.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs every node; returns each node's outcome, by key.
pub async fn walk<T, F, Fut>(
    nodes: Vec<Node<T>>,
    parallelism: usize,
    cancel: Cancel,
    run: F,
) -> BTreeMap<String, Outcome>
where
    T: Send + 'static,
    F: Fn(String, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let keys: HashSet<String> = nodes.iter().map(|n| n.key.clone()).collect();
    let mut waiting: HashMap<String, (HashSet<String>, T)> = HashMap::new();
    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for n in nodes {
        let deps: HashSet<String> = n
            .deps
            .into_iter()
            .filter(|d| keys.contains(d) && *d != n.key)
            .collect();
        for d in &deps {
            children.entry(d.clone()).or_default().push(n.key.clone());
        }
        order.push(n.key.clone());
        waiting.insert(n.key, (deps, n.item));
    }
    let run = Arc::new(run);
    let parallelism = parallelism.max(1);
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut running: JoinSet<(String, Result<(), String>)> = JoinSet::new();

    loop {
        // Start what is ready, in the order given, up to the limit.
        if !cancel.is_cancelled() {
            let ready: Vec<String> = order
                .iter()
                .filter(|k| waiting.get(*k).is_some_and(|(deps, _)| deps.is_empty()))
                .cloned()
                .collect();
            for key in ready {
                if running.len() >= parallelism {
                    break;
                }
                let (_, item) = waiting.remove(&key).expect("ready node is waiting");
                let run = run.clone();
                running.spawn(async move {
                    let result = run(key.clone(), item).await;
                    (key, result)
                });
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (key, result) = match joined {
            Ok(r) => r,
            Err(e) => (String::from("?"), Err(format!("a task panicked: {e}"))),
        };
        match result {
            Ok(()) => {
                outcomes.insert(key.clone(), Outcome::Done);
                for child in children.get(&key).cloned().unwrap_or_default() {
                    if let Some((deps, _)) = waiting.get_mut(&child) {
                        deps.remove(&key);
                    }
                }
            }
            Err(e) => {
                outcomes.insert(key.clone(), Outcome::Failed(e));
                // Skip everything downstream.
                let mut stack = children.get(&key).cloned().unwrap_or_default();
                while let Some(c) = stack.pop() {
                    if waiting.remove(&c).is_some() {
                        outcomes.insert(c.clone(), Outcome::Skipped);
                        stack.extend(children.get(&c).cloned().unwrap_or_default());
                    }
                }
            }
        }
    }
    for key in waiting.into_keys() {
        outcomes.insert(
            key,
            if cancel.is_cancelled() {
                Outcome::Cancelled
            } else {
                Outcome::Skipped
            },
        );
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn node(key: &str, deps: &[&str]) -> Node<()> {
        Node {
            key: key.into(),
            deps: deps.iter().map(|d| d.to_string()).collect(),
            item: (),
        }
    }

    #[tokio::test]
    async fn dependencies_run_first_and_failures_skip_downstream() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let nodes = vec![
            node("c", &["b"]),
            node("b", &["a"]),
            node("a", &[]),
            node("x", &[]),
            node("y", &["x"]),
            node("z", &["y", "outside"]),
        ];
        let out = walk(nodes, 4, Cancel::default(), move |k, _| {
            let l = l.clone();
            async move {
                l.lock().unwrap().push(k.clone());
                if k == "x" { Err("boom".into()) } else { Ok(()) }
            }
        })
        .await;
        let log = log.lock().unwrap().clone();
        let pos = |k: &str| log.iter().position(|x| x == k).unwrap();
        assert!(pos("a") < pos("b") && pos("b") < pos("c"));
        assert_eq!(out["x"], Outcome::Failed("boom".into()));
        assert_eq!(out["y"], Outcome::Skipped);
        assert_eq!(out["z"], Outcome::Skipped);
        assert_eq!(out["c"], Outcome::Done);
        assert!(!log.contains(&"y".to_string()));
    }

    #[tokio::test]
    async fn parallelism_is_bounded() {
        let now = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let max = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let nodes: Vec<_> = (0..20).map(|i| node(&format!("n{i}"), &[])).collect();
        let (n2, m2) = (now.clone(), max.clone());
        walk(nodes, 3, Cancel::default(), move |_, _| {
            let (n, m) = (n2.clone(), m2.clone());
            async move {
                let c = n.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(c, Ordering::SeqCst);
                tokio::task::yield_now().await;
                n.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .await;
        assert!(max.load(Ordering::SeqCst) <= 3);
    }

    #[tokio::test]
    async fn cancel_stops_new_starts() {
        let cancel = Cancel::default();
        let c2 = cancel.clone();
        let nodes = vec![node("a", &[]), node("b", &["a"])];
        let out = walk(nodes, 1, cancel, move |_, _| {
            let c = c2.clone();
            async move {
                c.cancel();
                Ok(())
            }
        })
        .await;
        assert_eq!(out["a"], Outcome::Done);
        assert_eq!(out["b"], Outcome::Cancelled);
    }
}
