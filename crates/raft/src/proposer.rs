//! Proposal batching: the group commit of client writes.
//!
//! openraft 0.9's core awaits each log append's flush before it handles the next client
//! write, so one `client_write` per client write would cost one fsync each, however many
//! clients wait. Instead every `RegionGroup::write` queues its payload here; one task takes
//! everything queued (up to a limit), proposes it as a single log entry, and hands each
//! caller its own response. While one batch is being made durable the next one fills up, so
//! concurrent writers share flushes and a lone writer pays no extra latency.

use openraft::Raft;
use tokio::sync::{mpsc, oneshot};

use crate::error::{from_write_error, RaftError};
use crate::group::SharedClock;
use crate::types::{Request, TypeConfig};

/// Most payloads in one log entry.
pub(crate) const BATCH_PAYLOADS_MAX: usize = 256;
/// Most payload bytes in one log entry (a larger single payload still goes alone).
pub(crate) const BATCH_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Writes queued but not yet proposed; past it `write` waits for room.
pub(crate) const QUEUE_WRITES_MAX: usize = 4096;

/// One queued write and where its answer goes.
pub(crate) struct Proposal {
    pub(crate) payload: Vec<u8>,
    pub(crate) reply: oneshot::Sender<Result<Vec<u8>, RaftError>>,
}

/// Starts the batching task; it ends when every sender is dropped.
pub(crate) fn spawn(raft: Raft<TypeConfig>, clock: SharedClock) -> mpsc::Sender<Proposal> {
    let (tx, rx) = mpsc::channel(QUEUE_WRITES_MAX);
    tokio::spawn(run(raft, clock, rx));
    tx
}

async fn run(raft: Raft<TypeConfig>, clock: SharedClock, mut rx: mpsc::Receiver<Proposal>) {
    let mut pending: Option<Proposal> = None;
    loop {
        let first = match pending.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut bytes = first.payload.len();
        let mut batch = vec![first];
        while batch.len() < BATCH_PAYLOADS_MAX {
            match rx.try_recv() {
                Ok(p) if bytes + p.payload.len() > BATCH_BYTES_MAX => {
                    pending = Some(p);
                    break;
                }
                Ok(p) => {
                    bytes += p.payload.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        let (payloads, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|p| (p.payload, p.reply)).unzip();
        let count = payloads.len();
        match raft
            .client_write(Request {
                wall_ms: clock.now_ms(),
                payloads,
            })
            .await
        {
            Ok(response) if response.data.0.len() == count => {
                for (reply, out) in replies.into_iter().zip(response.data.0) {
                    let _ = reply.send(Ok(out));
                }
            }
            Ok(response) => {
                let e = RaftError::Fatal(format!(
                    "state machine gave {} responses to {count} payloads",
                    response.data.0.len()
                ));
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            Err(e) => {
                let e = from_write_error(e);
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
