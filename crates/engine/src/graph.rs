//! A dependency-graph walker that knows nothing about Azure: nodes with dependencies,
//! each started as soon as everything it depends on is done, at most `parallelism` at
//! once (one semaphore, here), and everything downstream of a failure skipped.
//! Cancellation stops new starts and lets the running ones finish; abandoning (a second
//! Ctrl-C) also stops waiting for them: their tasks are dropped where they wait. A node
//! whose task panics fails like any other (under its own key), so its dependants are
//! skipped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;
use tokio::task::{Id, JoinSet};

#[derive(Clone, Debug)]
pub struct Node<T> {
    pub key: String,
    /// Keys of nodes that must finish first. Keys not in the graph count as done.
    pub deps: Vec<String>,
    pub item: T,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<E = String> {
    Done,
    Failed(E),
    /// A dependency failed or was skipped.
    Skipped,
    /// Not started: the walk was cancelled.
    Cancelled,
    /// Started, then no longer waited for: the walk was abandoned while it ran.
    Abandoned,
}

/// A node's task panicked: what it said. The walker turns it into the node's error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panicked(pub String);

impl From<Panicked> for String {
    fn from(p: Panicked) -> String {
        format!("panicked: {}", p.0)
    }
}

/// A flag the caller sets (on Ctrl-C) to stop new work. A child flag also reads as
/// set when its parent is, and can be set alone (the engine stops its own walk
/// without saying the user cancelled). Abandoning (a second Ctrl-C) is shared by a flag
/// and its children.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    parent: Option<Arc<AtomicBool>>,
    abandon: Arc<Abandon>,
}

#[derive(Debug, Default)]
struct Abandon {
    set: AtomicBool,
    notify: Notify,
}

impl Cancel {
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Stops new work and stops waiting for what runs: the walk ends at once, what was
    /// running [`Outcome::Abandoned`].
    pub fn abandon(&self) {
        self.cancel();
        self.abandon.set.store(true, Ordering::SeqCst);
        self.abandon.notify.notify_waiters();
    }

    pub fn is_abandoned(&self) -> bool {
        self.abandon.set.load(Ordering::SeqCst)
    }

    /// Resolves once [`Cancel::abandon`] is called (at once if it was).
    pub async fn abandoned(&self) {
        loop {
            let notified = self.abandon.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_abandoned() {
                return;
            }
            notified.await;
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.is_abandoned()
            || self.flag.load(Ordering::SeqCst)
            || self
                .parent
                .as_ref()
                .is_some_and(|p| p.load(Ordering::SeqCst))
    }

    /// A flag set when this one is, or on its own.
    pub fn child(&self) -> Cancel {
        Cancel {
            flag: Arc::new(AtomicBool::new(false)),
            parent: Some(self.flag.clone()),
            abandon: self.abandon.clone(),
        }
    }
}

/// The walk's bookkeeping: what waits on what, and what has been decided.
struct Walk<T, E> {
    waiting: HashMap<String, (HashSet<String>, T)>,
    children: HashMap<String, Vec<String>>,
    order: Vec<String>,
    outcomes: BTreeMap<String, Outcome<E>>,
}

impl<T, E> Walk<T, E> {
    fn new(nodes: Vec<Node<T>>) -> Self {
        let keys: HashSet<String> = nodes.iter().map(|n| n.key.clone()).collect();
        let mut walk = Walk {
            waiting: HashMap::new(),
            children: HashMap::new(),
            order: Vec::new(),
            outcomes: BTreeMap::new(),
        };
        for n in nodes {
            let deps: HashSet<String> = n
                .deps
                .into_iter()
                .filter(|d| keys.contains(d) && *d != n.key)
                .collect();
            for d in &deps {
                walk.children
                    .entry(d.clone())
                    .or_default()
                    .push(n.key.clone());
            }
            walk.order.push(n.key.clone());
            walk.waiting.insert(n.key, (deps, n.item));
        }
        walk
    }

    /// Nodes whose dependencies are all done, in the order given.
    fn ready(&self) -> Vec<String> {
        self.order
            .iter()
            .filter(|k| {
                self.waiting
                    .get(*k)
                    .is_some_and(|(deps, _)| deps.is_empty())
            })
            .cloned()
            .collect()
    }

    fn finished(&mut self, key: String, result: Result<(), E>) {
        match result {
            Ok(()) => {
                for child in self.children.get(&key).cloned().unwrap_or_default() {
                    if let Some((deps, _)) = self.waiting.get_mut(&child) {
                        deps.remove(&key);
                    }
                }
                self.outcomes.insert(key, Outcome::Done);
            }
            Err(e) => {
                // Skip everything downstream.
                let mut stack = self.children.get(&key).cloned().unwrap_or_default();
                while let Some(c) = stack.pop() {
                    if self.waiting.remove(&c).is_some() {
                        stack.extend(self.children.get(&c).cloned().unwrap_or_default());
                        self.outcomes.insert(c, Outcome::Skipped);
                    }
                }
                self.outcomes.insert(key, Outcome::Failed(e));
            }
        }
    }

    /// What never started: cancelled, or skipped.
    fn close(mut self, cancelled: bool) -> BTreeMap<String, Outcome<E>> {
        for key in self.waiting.into_keys() {
            let outcome = if cancelled {
                Outcome::Cancelled
            } else {
                Outcome::Skipped
            };
            self.outcomes.insert(key, outcome);
        }
        self.outcomes
    }
}

/// Runs every node; returns each node's outcome, by key.
pub async fn walk<T, E, F, Fut>(
    nodes: Vec<Node<T>>,
    parallelism: usize,
    cancel: Cancel,
    run: F,
) -> BTreeMap<String, Outcome<E>>
where
    T: Send + 'static,
    E: From<Panicked> + Send + 'static,
    F: Fn(String, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
{
    let mut walk = Walk::new(nodes);
    let run = Arc::new(run);
    let parallelism = parallelism.max(1);
    let mut running: JoinSet<Result<(), E>> = JoinSet::new();
    // Which node each task runs, so a panic is filed under its node.
    let mut task_keys: HashMap<Id, String> = HashMap::new();

    loop {
        // Start what is ready, in the order given, up to the limit.
        if !cancel.is_cancelled() {
            for key in walk.ready() {
                if running.len() >= parallelism {
                    break;
                }
                let (_, item) = walk.waiting.remove(&key).expect("ready node is waiting");
                let run = run.clone();
                let k = key.clone();
                let handle = running.spawn(async move { run(k, item).await });
                task_keys.insert(handle.id(), key);
            }
        }
        let joined = tokio::select! {
            joined = running.join_next_with_id() => joined,
            () = cancel.abandoned(), if !running.is_empty() => {
                abandon_running(&mut running, &mut task_keys, &mut walk).await;
                break;
            }
        };
        let Some(joined) = joined else {
            break;
        };
        let (id, result) = match joined {
            Ok((id, r)) => (id, r),
            // Its Display says "task N panicked with message ...".
            Err(e) => (e.id(), Err(E::from(Panicked(e.to_string())))),
        };
        let key = task_keys.remove(&id).expect("every task has a node");
        walk.finished(key, result);
    }
    walk.close(cancel.is_cancelled())
}

/// Stops the running tasks where they wait. One that finished meanwhile keeps its
/// outcome; the others are abandoned.
async fn abandon_running<T, E: From<Panicked> + Send + 'static>(
    running: &mut JoinSet<Result<(), E>>,
    task_keys: &mut HashMap<Id, String>,
    walk: &mut Walk<T, E>,
) {
    running.abort_all();
    while let Some(joined) = running.join_next_with_id().await {
        match joined {
            Ok((id, result)) => {
                let key = task_keys.remove(&id).expect("every task has a node");
                walk.finished(key, result);
            }
            Err(e) if e.is_cancelled() => {
                let key = task_keys.remove(&e.id()).expect("every task has a node");
                walk.outcomes.insert(key, Outcome::Abandoned);
            }
            Err(e) => {
                let key = task_keys.remove(&e.id()).expect("every task has a node");
                walk.finished(key, Err(E::from(Panicked(e.to_string()))));
            }
        }
    }
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
                if k == "x" {
                    Err(String::from("boom"))
                } else {
                    Ok(())
                }
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
    async fn a_panicking_node_fails_under_its_own_key_and_its_dependants_are_skipped() {
        let nodes = vec![node("a", &[]), node("b", &["a"]), node("c", &[])];
        let out: BTreeMap<String, Outcome> =
            walk(nodes, 4, Cancel::default(), move |k, _| async move {
                if k == "a" {
                    panic!("boom in a");
                }
                Ok(())
            })
            .await;
        assert!(
            matches!(&out["a"], Outcome::Failed(e) if e.contains("boom in a")),
            "{out:?}"
        );
        assert_eq!(out["b"], Outcome::Skipped);
        assert_eq!(out["c"], Outcome::Done);
        assert_eq!(out.len(), 3, "no outcome under another key: {out:?}");
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
                Ok::<(), String>(())
            }
        })
        .await;
        assert!(max.load(Ordering::SeqCst) <= 3);
    }

    #[tokio::test]
    async fn abandon_stops_waiting_for_what_runs() {
        let cancel = Cancel::default();
        let c2 = cancel.child();
        let nodes = vec![
            node("quick", &[]),
            node("slow", &[]),
            node("after", &["slow"]),
        ];
        let out = walk(nodes, 4, cancel.child(), move |k, _| {
            let c = c2.clone();
            async move {
                if k == "slow" {
                    // Never ends by itself: only abandoning ends the walk.
                    std::future::pending::<()>().await;
                }
                c.abandon();
                Ok::<(), String>(())
            }
        })
        .await;
        assert_eq!(out["quick"], Outcome::Done);
        assert_eq!(out["slow"], Outcome::Abandoned);
        assert_eq!(out["after"], Outcome::Cancelled);
        assert!(cancel.is_abandoned() && cancel.is_cancelled());
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
                Ok::<(), String>(())
            }
        })
        .await;
        assert_eq!(out["a"], Outcome::Done);
        assert_eq!(out["b"], Outcome::Cancelled);
    }
}
