//! The log flusher: one thread that makes the log durable for everyone who is waiting.
//!
//! `append` writes its entries with one sled batch and hands its callback here. The thread
//! takes *all* pending waiters (append callbacks, vote and truncate flushes), runs one
//! `Store::flush` (sled flush + fdatasync, about 0.5 ms here), then completes them all. The
//! flush is blocking, so it runs on this dedicated thread, never on an async worker.
//!
//! A flush that fails because a resource ran out for now (file descriptors, disk space:
//! [`storage::StorageError::is_transient`]) is retried with bounded exponential backoff
//! ([`LOG_FLUSH_ATTEMPTS_MAX`] attempts, about 6 s in all) before the waiters get the error;
//! any other failure reaches them at once. An error handed to openraft is fatal for the Raft
//! core, and the binary then exits (a supervisor restarts it) rather than serve 503s forever.
//!
//! openraft 0.9's core awaits each append's callback before its next append, so the waiters
//! rarely pile up here; client writes share flushes mainly because `proposer` packs concurrent
//! writes into one entry. This thread still coalesces whatever does queue up, and keeps
//! working unchanged if a later openraft pipelines appends.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use openraft::storage::LogFlushed;
use storage::Store;
use tokio::sync::oneshot;

use crate::types::TypeConfig;

/// Attempts of one flush when it fails with a transient error (EMFILE, ENFILE, ENOSPC).
pub const LOG_FLUSH_ATTEMPTS_MAX: u32 = 12;
/// Pause before the first retry of a failed flush; it doubles after each attempt.
pub const LOG_FLUSH_RETRY_BACKOFF_MS_FIRST: u64 = 10;
/// Longest pause between two attempts.
pub const LOG_FLUSH_RETRY_BACKOFF_MS_MAX: u64 = 1_000;

/// The environment variable of the test-only flush failpoint: `KIND:AFTER:COUNT` makes the
/// flushes after the first `AFTER` successful ones fail (`COUNT` of them; 0: every one from
/// then on), with `KIND` `exhausted` (a transient EMFILE, which is retried) or `io` (a hard
/// I/O error). Read once when the flusher starts; unset in production.
pub const LOG_FLUSH_FAILPOINT_ENV: &str = "MERIDIAN_FAILPOINT_LOG_FLUSH";

/// A planted flush failure (see [`LOG_FLUSH_FAILPOINT_ENV`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Failpoint {
    transient: bool,
    after: u64,
    /// 0: unbounded.
    count: u64,
}

impl Failpoint {
    fn parse(spec: &str) -> Option<Failpoint> {
        let mut parts = spec.split(':');
        let transient = match parts.next()? {
            "exhausted" => true,
            "io" => false,
            _ => return None,
        };
        let after = parts.next()?.parse().ok()?;
        let count = parts.next()?.parse().ok()?;
        Some(Failpoint {
            transient,
            after,
            count,
        })
    }

    fn from_env() -> Option<Failpoint> {
        let spec = std::env::var(LOG_FLUSH_FAILPOINT_ENV).ok()?;
        let failpoint = Failpoint::parse(&spec);
        match failpoint {
            Some(_) => tracing::warn!(%spec, "log flush failpoint armed"),
            None => tracing::error!(%spec, "log flush failpoint not understood; ignored"),
        }
        failpoint
    }

    /// The planted error for attempt number `attempt` (0-based, over the thread's life).
    fn check(&self, attempt: u64) -> Result<(), storage::StorageError> {
        let failing =
            attempt >= self.after && (self.count == 0 || attempt < self.after + self.count);
        if !failing {
            return Ok(());
        }
        Err(if self.transient {
            storage::StorageError::Exhausted("failpoint: Too many open files (os error 24)".into())
        } else {
            storage::StorageError::Io("failpoint: Input/output error (os error 5)".into())
        })
    }
}

/// Something waiting for the next durable flush.
pub(crate) enum Waiter {
    /// An append's openraft callback.
    Log(LogFlushed<TypeConfig>),
    /// An awaited flush (vote, truncate): the result of the flush that covered it.
    Notify(oneshot::Sender<Result<(), storage::StorageError>>),
    /// Finish the pending waiters and exit.
    Stop,
}

/// The handle of the flusher thread; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Flusher {
    tx: mpsc::Sender<Waiter>,
    state: Arc<FlushState>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

/// What the flusher thread reports.
#[derive(Debug)]
struct FlushState {
    /// Flushes done (successful or not, retries not counted).
    flushes: AtomicU64,
    /// Whether the latest flush attempt succeeded: the health check's "storage writable".
    last_ok: AtomicBool,
    /// The planted failure, if any.
    failpoint: Option<Failpoint>,
    /// Flush attempts so far, for the failpoint.
    attempts: AtomicU64,
}

impl Flusher {
    /// Starts the flusher thread for `store`.
    pub(crate) fn start(store: Store) -> std::io::Result<Flusher> {
        let (tx, rx) = mpsc::channel();
        let state = Arc::new(FlushState {
            flushes: AtomicU64::new(0),
            last_ok: AtomicBool::new(true),
            failpoint: Failpoint::from_env(),
            attempts: AtomicU64::new(0),
        });
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("raft-log-flusher".into())
            .spawn(move || run(&store, &rx, &shared))?;
        Ok(Flusher {
            tx,
            state,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Queues a waiter; `Err` gives it back if the thread is gone.
    pub(crate) fn submit(&self, waiter: Waiter) -> Result<(), Waiter> {
        self.tx.send(waiter).map_err(|e| e.0)
    }

    /// Waits for a flush that covers everything written before this call.
    pub(crate) async fn flush(&self) -> Result<(), storage::StorageError> {
        let (tx, rx) = oneshot::channel();
        let stopped = || storage::StorageError::Engine("the log flusher has stopped".into());
        self.submit(Waiter::Notify(tx)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// How many flushes the thread has done.
    pub(crate) fn flush_count(&self) -> u64 {
        self.state.flushes.load(Ordering::Relaxed)
    }

    /// Whether the latest flush attempt succeeded.
    pub(crate) fn last_flush_ok(&self) -> bool {
        self.state.last_ok.load(Ordering::Relaxed)
    }

    /// Stops the thread after it completes what is pending, and waits for it (blocking).
    pub(crate) fn stop_and_join(&self) {
        let _ = self.tx.send(Waiter::Stop);
        let handle = self.thread.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            if handle.join().is_err() {
                tracing::error!("raft log flusher thread panicked");
            }
        }
    }
}

/// One flush, retried while it fails transiently (bounded, see [`LOG_FLUSH_ATTEMPTS_MAX`]).
fn flush_with_retries(store: &Store, state: &FlushState) -> Result<(), storage::StorageError> {
    let mut backoff_ms = LOG_FLUSH_RETRY_BACKOFF_MS_FIRST;
    let mut attempt = 1;
    loop {
        let planted = state.attempts.fetch_add(1, Ordering::Relaxed);
        let result = match state.failpoint {
            Some(failpoint) => failpoint.check(planted).and_then(|()| store.flush()),
            None => store.flush(),
        };
        state.last_ok.store(result.is_ok(), Ordering::Relaxed);
        match result {
            Err(e) if e.is_transient() && attempt < LOG_FLUSH_ATTEMPTS_MAX => {
                tracing::warn!(error = %e, attempt, backoff_ms, "raft log flush failed; retrying");
                std::thread::sleep(Duration::from_millis(backoff_ms));
                backoff_ms = (backoff_ms * 2).min(LOG_FLUSH_RETRY_BACKOFF_MS_MAX);
                attempt += 1;
            }
            Ok(()) if attempt > 1 => {
                tracing::warn!(attempt, "raft log flush recovered");
                return Ok(());
            }
            other => return other,
        }
    }
}

fn run(store: &Store, rx: &mpsc::Receiver<Waiter>, state: &FlushState) {
    // `recv` fails once every sender is gone: the log store was dropped.
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let stop = batch.iter().any(|w| matches!(w, Waiter::Stop));
        let result = flush_with_retries(store, state);
        state.flushes.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = &result {
            tracing::error!(error = %e, "raft log flush failed");
        }
        for waiter in batch {
            match waiter {
                Waiter::Log(callback) => callback.log_io_completed(
                    result
                        .clone()
                        .map_err(|e| std::io::Error::other(e.to_string())),
                ),
                Waiter::Notify(tx) => {
                    let _ = tx.send(result.clone());
                }
                Waiter::Stop => {}
            }
        }
        if stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_failpoint_spec() {
        let f = Failpoint::parse("exhausted:3:2");
        assert_eq!(
            f,
            Some(Failpoint {
                transient: true,
                after: 3,
                count: 2
            })
        );
        let f = f.unwrap_or(Failpoint {
            transient: false,
            after: 0,
            count: 0,
        });
        let failing: Vec<bool> = (0..7).map(|i| f.check(i).is_err()).collect();
        assert_eq!(failing, [false, false, false, true, true, false, false]);
        assert!(f.check(3).is_err_and(|e| e.is_transient()));
        assert_eq!(
            Failpoint::parse("io:1:0").map(|f| f.check(50).is_err()),
            Some(true)
        );
        assert_eq!(Failpoint::parse("bogus:1:0"), None);
    }

    #[test]
    fn t10_issue_10_transient_flush_failures_are_retried() {
        let store = Store::open(None, 0).expect("store");
        let state = FlushState {
            flushes: AtomicU64::new(0),
            last_ok: AtomicBool::new(true),
            failpoint: Failpoint::parse("exhausted:0:3"),
            attempts: AtomicU64::new(0),
        };
        // Three transient failures, then success: recovered within one flush.
        assert_eq!(flush_with_retries(&store, &state), Ok(()));
        assert!(state.last_ok.load(Ordering::Relaxed));
        assert_eq!(state.attempts.load(Ordering::Relaxed), 4);
        // A failure that never ends is given up after the bounded attempts.
        let state = FlushState {
            failpoint: Failpoint::parse("exhausted:0:0"),
            attempts: AtomicU64::new(0),
            ..state
        };
        assert!(flush_with_retries(&store, &state).is_err_and(|e| e.is_transient()));
        assert_eq!(
            state.attempts.load(Ordering::Relaxed),
            u64::from(LOG_FLUSH_ATTEMPTS_MAX)
        );
        assert!(!state.last_ok.load(Ordering::Relaxed));
        // A hard error is not retried.
        let state = FlushState {
            failpoint: Failpoint::parse("io:0:0"),
            attempts: AtomicU64::new(0),
            ..state
        };
        assert!(flush_with_retries(&store, &state).is_err_and(|e| !e.is_transient()));
        assert_eq!(state.attempts.load(Ordering::Relaxed), 1);
    }
}
