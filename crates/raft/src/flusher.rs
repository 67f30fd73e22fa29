//! The log flusher: one thread that makes the log durable for everyone who is waiting.
//!
//! `append` writes its entries with one sled batch and hands its callback here. The thread
//! takes *all* pending waiters (append callbacks, vote and truncate flushes), runs one
//! `Store::flush` (sled flush + fdatasync, about 0.5 ms here), then completes them all. The
//! flush is blocking, so it runs on this dedicated thread, never on an async worker.
//!
//! openraft 0.9's core awaits each append's callback before its next append, so the waiters
//! rarely pile up here; client writes share flushes mainly because `proposer` packs concurrent
//! writes into one entry. This thread still coalesces whatever does queue up, and keeps
//! working unchanged if a later openraft pipelines appends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use openraft::storage::LogFlushed;
use storage::Store;
use tokio::sync::oneshot;

use crate::types::TypeConfig;

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
    flushes: Arc<AtomicU64>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Flusher {
    /// Starts the flusher thread for `store`.
    pub(crate) fn start(store: Store) -> std::io::Result<Flusher> {
        let (tx, rx) = mpsc::channel();
        let flushes = Arc::new(AtomicU64::new(0));
        let counter = flushes.clone();
        let thread = std::thread::Builder::new()
            .name("raft-log-flusher".into())
            .spawn(move || run(&store, &rx, &counter))?;
        Ok(Flusher {
            tx,
            flushes,
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
        self.flushes.load(Ordering::Relaxed)
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

fn run(store: &Store, rx: &mpsc::Receiver<Waiter>, flushes: &AtomicU64) {
    // `recv` fails once every sender is gone: the log store was dropped.
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let stop = batch.iter().any(|w| matches!(w, Waiter::Stop));
        let result = store.flush();
        flushes.fetch_add(1, Ordering::Relaxed);
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
