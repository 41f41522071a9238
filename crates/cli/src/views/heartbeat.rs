//! Heartbeats: without a terminal (CI logs), a line per running operation every
//! interval, as Terraform's "Still creating... [10s elapsed]", so a 60-second deployment
//! does not look hung between "creating..." and "created". One thread wakes when the
//! next beat of any running operation is due; each operation beats at whole multiples
//! of the interval since it started.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One heartbeat: `address` has been `doing` (e.g. "creating") for `elapsed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beat {
    pub address: String,
    pub doing: &'static str,
    pub action: &'static str,
    /// A whole multiple of the interval.
    pub elapsed: Duration,
}

impl Beat {
    /// `account.x: still creating... [20s elapsed]`.
    pub fn text(&self) -> String {
        format!(
            "{}: still {}... [{} elapsed]",
            self.address,
            self.doing,
            elapsed_label(self.elapsed)
        )
    }
}

/// `20s`, `1m0s`, `2m30s` (Terraform's form).
pub fn elapsed_label(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

struct Running {
    address: String,
    doing: &'static str,
    action: &'static str,
    started: Instant,
    beats: u32,
}

struct Inner {
    interval: Duration,
    running: BTreeMap<String, Running>,
    closed: bool,
}

/// The beats due at `now`, counted as sent, and when the next one is due.
fn due(inner: &mut Inner, now: Instant) -> (Vec<Beat>, Option<Instant>) {
    let interval = inner.interval;
    let mut beats = Vec::new();
    let mut next: Option<Instant> = None;
    for r in inner.running.values_mut() {
        loop {
            let at = r.started + interval * (r.beats + 1);
            if at > now {
                next = Some(next.map_or(at, |n| n.min(at)));
                break;
            }
            r.beats += 1;
            beats.push(Beat {
                address: r.address.clone(),
                doing: r.doing,
                action: r.action,
                elapsed: interval * r.beats,
            });
        }
    }
    (beats, next)
}

type Shared = Arc<(Mutex<Inner>, Condvar)>;

/// The running operations and the thread that beats for them.
pub struct Heartbeat {
    shared: Shared,
}

impl Heartbeat {
    /// Starts beating every `interval` through `emit`; `None` when the interval is 0 (off).
    pub fn start(interval: Duration, emit: impl Fn(&Beat) + Send + 'static) -> Option<Heartbeat> {
        if interval.is_zero() {
            return None;
        }
        let shared: Shared = Arc::new((
            Mutex::new(Inner {
                interval,
                running: BTreeMap::new(),
                closed: false,
            }),
            Condvar::new(),
        ));
        let s = shared.clone();
        std::thread::Builder::new()
            .name("aoai-lb-heartbeat".into())
            .spawn(move || beat_until_closed(&s, emit))
            .ok()?;
        Some(Heartbeat { shared })
    }

    /// `key` started (its beats count from now).
    pub fn begin(&self, key: &str, address: &str, doing: &'static str, action: &'static str) {
        let (lock, cv) = &*self.shared;
        lock.lock().expect("heartbeat").running.insert(
            key.to_string(),
            Running {
                address: address.to_string(),
                doing,
                action,
                started: Instant::now(),
                beats: 0,
            },
        );
        cv.notify_all();
    }

    /// `key` finished (or was abandoned): no more beats for it.
    pub fn end(&self, key: &str) {
        let (lock, cv) = &*self.shared;
        lock.lock().expect("heartbeat").running.remove(key);
        cv.notify_all();
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        let (lock, cv) = &*self.shared;
        lock.lock().expect("heartbeat").closed = true;
        cv.notify_all();
    }
}

fn beat_until_closed(shared: &Shared, emit: impl Fn(&Beat)) {
    let (lock, cv) = &**shared;
    let mut inner = lock.lock().expect("heartbeat");
    while !inner.closed {
        let now = Instant::now();
        let (beats, next) = due(&mut inner, now);
        for b in &beats {
            emit(b);
        }
        inner = match next {
            None => cv.wait(inner).expect("heartbeat"),
            Some(at) => cv.wait_timeout(inner, at - now).expect("heartbeat").0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner(interval: u64) -> Inner {
        Inner {
            interval: Duration::from_secs(interval),
            running: BTreeMap::new(),
            closed: false,
        }
    }

    fn run(inner: &mut Inner, key: &str, started: Instant) {
        inner.running.insert(
            key.into(),
            Running {
                address: format!("account.{key}"),
                doing: "creating",
                action: "create",
                started,
                beats: 0,
            },
        );
    }

    #[test]
    fn each_operation_beats_at_whole_intervals_since_it_started() {
        let t0 = Instant::now();
        let mut i = inner(10);
        run(&mut i, "a", t0);
        run(&mut i, "b", t0 + Duration::from_secs(4));
        let (beats, next) = due(&mut i, t0 + Duration::from_secs(9));
        assert!(beats.is_empty());
        assert_eq!(next, Some(t0 + Duration::from_secs(10)));
        let (beats, next) = due(&mut i, t0 + Duration::from_secs(21));
        let texts: Vec<String> = beats.iter().map(Beat::text).collect();
        assert_eq!(
            texts,
            [
                "account.a: still creating... [10s elapsed]",
                "account.a: still creating... [20s elapsed]",
                "account.b: still creating... [10s elapsed]",
            ]
        );
        // Sent beats are not sent again; b's next is 24 s, a's 30 s.
        assert_eq!(next, Some(t0 + Duration::from_secs(24)));
        assert!(due(&mut i, t0 + Duration::from_secs(21)).0.is_empty());
    }

    #[test]
    fn labels_read_like_terraform() {
        assert_eq!(elapsed_label(Duration::from_secs(20)), "20s");
        assert_eq!(elapsed_label(Duration::from_secs(60)), "1m0s");
        assert_eq!(elapsed_label(Duration::from_secs(150)), "2m30s");
    }

    #[test]
    fn an_interval_of_zero_turns_heartbeats_off() {
        assert!(Heartbeat::start(Duration::ZERO, |_| {}).is_none());
    }

    #[test]
    fn the_thread_beats_for_what_runs_and_stops_for_what_ended() {
        let (tx, rx) = std::sync::mpsc::channel();
        let hb = Heartbeat::start(Duration::from_millis(20), move |b| {
            let _ = tx.send(b.clone());
        })
        .unwrap();
        hb.begin("k", "deployment.x/gpt-4o", "creating", "create");
        let first = rx.recv().unwrap();
        assert_eq!(first.elapsed, Duration::from_millis(20));
        let second = rx.recv().unwrap();
        assert_eq!(second.elapsed, Duration::from_millis(40));
        hb.end("k");
        drop(hb);
        // The thread ends: the channel closes once what it had sent is read.
        while rx.recv().is_ok() {}
    }
}
