//! Seeded fault injection: the same seed and the same sequence of product requests give
//! the same faults. One random draw per request decides throttle, server error or a
//! dropped connection; `failLro` counts down per operation kind.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::{Faults, LroKind};

/// A fault injected into one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 429 with Retry-After.
    Throttle,
    /// 500 or 503 with an ARM error body.
    ServerError(u16),
    /// The connection is closed without a response.
    Drop,
}

impl Fault {
    /// The name in the request log.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttle => "throttle",
            Fault::ServerError(_) => "server-error",
            Fault::Drop => "drop",
        }
    }
}

/// The live fault configuration and its random state.
pub struct FaultState {
    pub config: Faults,
    rng: StdRng,
    /// Failures left per `failLro` entry (None: unlimited).
    remaining: Vec<Option<u32>>,
}

impl FaultState {
    pub fn new(config: Faults) -> FaultState {
        FaultState {
            rng: StdRng::seed_from_u64(config.seed),
            remaining: config.fail_lro.iter().map(|f| f.times).collect(),
            config,
        }
    }

    /// Decides the fault of the next product request, if any.
    pub fn draw(&mut self) -> Option<Fault> {
        let c = &self.config;
        if c.throttle + c.server_error + c.drop <= 0.0 {
            return None;
        }
        let u: f64 = self.rng.random();
        if u < c.throttle {
            return Some(Fault::Throttle);
        }
        let u = u - c.throttle;
        if u < c.server_error {
            return Some(Fault::ServerError(if u < c.server_error / 2.0 {
                500
            } else {
                503
            }));
        }
        if u - c.server_error < c.drop {
            return Some(Fault::Drop);
        }
        None
    }

    /// Whether a new operation of this kind must end Failed (and counts it).
    pub fn take_fail(&mut self, kind: LroKind) -> bool {
        for (entry, left) in self.config.fail_lro.iter().zip(self.remaining.iter_mut()) {
            if entry.kind != kind {
                continue;
            }
            match left {
                None => return true,
                Some(0) => {}
                Some(n) => {
                    *n -= 1;
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FailLro;

    #[test]
    fn same_seed_same_faults() {
        let config = Faults {
            seed: 7,
            throttle: 0.2,
            server_error: 0.2,
            drop: 0.1,
            ..Faults::default()
        };
        let run = |c: &Faults| {
            let mut f = FaultState::new(c.clone());
            (0..200).map(|_| f.draw()).collect::<Vec<_>>()
        };
        let a = run(&config);
        assert_eq!(a, run(&config));
        let count = |f: fn(&Option<Fault>) -> bool| a.iter().filter(|x| f(x)).count();
        assert!(count(|x| *x == Some(Fault::Throttle)) > 20);
        assert!(count(|x| *x == Some(Fault::ServerError(500))) > 5);
        assert!(count(|x| *x == Some(Fault::ServerError(503))) > 5);
        assert!(count(|x| *x == Some(Fault::Drop)) > 5);
        assert!(count(Option::is_none) > 60);
        assert_ne!(a, run(&Faults { seed: 8, ..config }));
        assert!(run(&Faults::default()).iter().all(Option::is_none));
    }

    #[test]
    fn fail_lro_counts_down() {
        let mut f = FaultState::new(Faults {
            fail_lro: vec![
                FailLro {
                    kind: LroKind::Deployment,
                    times: Some(1),
                },
                FailLro {
                    kind: LroKind::Api,
                    times: None,
                },
            ],
            ..Faults::default()
        });
        assert!(f.take_fail(LroKind::Deployment));
        assert!(!f.take_fail(LroKind::Deployment));
        assert!(f.take_fail(LroKind::Api));
        assert!(f.take_fail(LroKind::Api));
        assert!(!f.take_fail(LroKind::Account));
    }
}
