//! The TTL sweeper: a background task that, on the region leader, runs `api::sweep_ttl`
//! every interval (deleting expired items and trimming stream records past retention through
//! the region's log). Followers skip their turn: the leader's deletes reach them by Raft.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// A running sweeper; stops when dropped or [`Sweeper::stop`]ped.
#[derive(Debug)]
pub struct Sweeper {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Sweeper {
    /// Starts sweeping `region` every `interval_ms` (0: never; returns None).
    pub fn start(region: Arc<dyn api::Region>, interval_ms: u64) -> Option<Sweeper> {
        if interval_ms == 0 {
            return None;
        }
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(interval_ms));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stopped.changed() => break,
                }
                if !region.is_leader() {
                    continue;
                }
                match api::sweep_ttl(&*region).await {
                    Ok(report) if report.expired > 0 || report.trimmed_tables > 0 => {
                        tracing::info!(
                            expired = report.expired,
                            trimmed_tables = report.trimmed_tables,
                            "ttl sweep"
                        );
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "ttl sweep failed"),
                }
            }
        });
        Some(Sweeper { stop, task })
    }

    /// Stops the task and waits for a sweep in progress to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
