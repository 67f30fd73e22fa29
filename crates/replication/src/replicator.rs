//! The replicator of one node: shipping loops, backfill and anti-entropy on the region
//! leader, the receiving side of the cross-region protocol on every node, and the control
//! operations the global-tables API calls.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use model::limits::{REPLICATION_BATCH_BYTES_MAX, REPLICATION_BATCH_CHANGES_MAX};
use model::size::item_size;
use model::{Replica, ReplicaStatus, TableMeta, TableStatus};
use storage::Space;
use table::{Command, Outcome, RemoteBatch, RemoteChange, ReplicaSet, ReplicateResult};

use crate::client::RegionClient;
use crate::digest::{bucket_of, table_digest, Digest};
use crate::metrics::Metrics;
use crate::region::LocalRegion;
use crate::wire::{self, paths, EnsureTable};

/// The global tables version Meridian implements for UpdateTable's ReplicaUpdates.
pub const GLOBAL_TABLE_VERSION: &str = "2019.11.21";

/// How the replicator runs.
#[derive(Debug, Clone)]
pub struct ReplicationSettings {
    /// This region's name.
    pub region: String,
    /// The other regions: name → peer addresses of their nodes.
    pub remotes: BTreeMap<String, Vec<String>>,
    /// The cluster secret every cross-region request carries.
    pub secret: String,
    /// Deadline of one cross-region call.
    pub request_timeout_ms: u64,
    /// First retry delay after a failure; doubles (with jitter) up to `backoff_max_ms`.
    pub backoff_min_ms: u64,
    pub backoff_max_ms: u64,
    /// Period of anti-entropy rounds (0: never).
    pub anti_entropy_interval_ms: u64,
    /// Dev mode: every table created becomes global across all configured regions.
    pub auto_global: bool,
}

impl Default for ReplicationSettings {
    fn default() -> Self {
        ReplicationSettings {
            region: String::new(),
            remotes: BTreeMap::new(),
            secret: String::new(),
            request_timeout_ms: 5_000,
            backoff_min_ms: 50,
            backoff_max_ms: 5_000,
            anti_entropy_interval_ms: 30_000,
            auto_global: false,
        }
    }
}

/// Why a control operation (adding or removing replicas) was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ControlError {
    /// The request is invalid (unknown region, already a replica, ...).
    #[error("{0}")]
    Validation(String),
    /// No such table.
    #[error("{0}")]
    NotFound(String),
    /// The region could not commit the change now; retry.
    #[error("{0}")]
    Unavailable(String),
}

/// What [`paths::APPLY`] carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ApplyRequest {
    batch: RemoteBatch,
    /// Live changes from the change log (counted in latency), as opposed to backfill and
    /// anti-entropy copies of older versions.
    live: bool,
}

/// A node's replicator. Cheap to clone.
#[derive(Clone)]
pub struct Replicator {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ReplicationSettings,
    client: RegionClient,
    metrics: Metrics,
    region: OnceLock<Weak<dyn LocalRegion>>,
    /// Bumped after every applied entry, to wake the shipping loops.
    changed: watch::Sender<u64>,
    stopped: watch::Sender<bool>,
    /// Backfills under way: (table, destination).
    backfills: Mutex<BTreeSet<(String, String)>>,
    /// Records not yet acknowledged, per (destination, table).
    pending: Mutex<BTreeMap<(String, String), u64>>,
    /// The last change-log record each destination has confirmed, per (destination, table
    /// id), ahead of the durable cursor while its acknowledgement commits.
    delivered: Mutex<BTreeMap<(String, uuid::Uuid), u64>>,
}

impl std::fmt::Debug for Replicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicator")
            .field("region", &self.inner.settings.region)
            .field("remotes", &self.inner.client)
            .finish_non_exhaustive()
    }
}

/// A failure of one step, retried with backoff.
type StepResult<T> = Result<T, String>;

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Replicator {
    /// A replicator for `settings`; it does nothing until [`Replicator::start`].
    pub fn new(settings: ReplicationSettings) -> Replicator {
        let client = RegionClient::new(
            &settings.remotes,
            &settings.secret,
            Duration::from_millis(settings.request_timeout_ms),
        );
        Replicator {
            inner: Arc::new(Inner {
                settings,
                client,
                metrics: Metrics::default(),
                region: OnceLock::new(),
                changed: watch::channel(0).0,
                stopped: watch::channel(false).0,
                backfills: Mutex::new(BTreeSet::new()),
                pending: Mutex::new(BTreeMap::new()),
                delivered: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Attaches the local region and starts the shipping loops (one per remote region) and the
    /// maintenance loop (backfills, anti-entropy). They do work only while this node leads.
    pub fn start(&self, region: Weak<dyn LocalRegion>) {
        if self.inner.region.set(region).is_err() {
            return;
        }
        for destination in self.inner.client.regions() {
            let this = self.clone();
            let destination = destination.to_owned();
            tokio::spawn(async move { this.ship_loop(destination).await });
        }
        let this = self.clone();
        tokio::spawn(async move { this.maintenance_loop().await });
    }

    /// Stops every loop.
    pub fn stop(&self) {
        self.inner.stopped.send_replace(true);
    }

    /// Wakes the shipping loops: call after every applied log entry.
    pub fn notify_applied(&self) {
        self.inner.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// This region's name.
    pub fn region_name(&self) -> &str {
        &self.inner.settings.region
    }

    /// Every region of the cluster, this one included, sorted.
    pub fn regions(&self) -> Vec<String> {
        let mut all: BTreeSet<String> = self.inner.client.regions().map(str::to_owned).collect();
        all.insert(self.inner.settings.region.clone());
        all.into_iter().collect()
    }

    /// Whether `region` is this one or a configured remote.
    pub fn knows(&self, region: &str) -> bool {
        region == self.inner.settings.region || self.inner.client.knows(region)
    }

    /// Dev mode: whether new tables become global across every region.
    pub fn auto_global(&self) -> bool {
        self.inner.settings.auto_global
    }

    /// The replication figures.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Prometheus text: the figures, with pending counts refreshed.
    pub fn prometheus(&self) -> String {
        self.refresh_pending();
        self.inner.metrics.prometheus()
    }

    /// Status-page lines.
    pub fn status(&self) -> String {
        self.refresh_pending();
        self.inner.metrics.status()
    }

    fn refresh_pending(&self) {
        let pending = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        let mut per_destination: BTreeMap<&str, u64> = BTreeMap::new();
        for ((destination, _), n) in pending.iter() {
            *per_destination.entry(destination).or_default() += n;
        }
        for (destination, n) in per_destination {
            self.inner
                .metrics
                .update(&self.inner.settings.region, destination, |p| p.pending = n);
        }
    }

    fn local(&self) -> Option<Arc<dyn LocalRegion>> {
        self.inner.region.get().and_then(Weak::upgrade)
    }

    fn stopped(&self) -> bool {
        *self.inner.stopped.borrow()
    }

    fn me(&self) -> &str {
        &self.inner.settings.region
    }

    // ---------------------------------------------------------------- shipping

    async fn ship_loop(self, destination: String) {
        let mut changed = self.inner.changed.subscribe();
        let mut stopped = self.inner.stopped.subscribe();
        let mut backoff = Backoff::new(&self.inner.settings);
        loop {
            if self.stopped() {
                return;
            }
            let Some(region) = self.local() else { return };
            let round = if region.is_leader() {
                self.ship_round(&*region, &destination).await
            } else {
                Ok(false)
            };
            drop(region);
            let pause = match round {
                Ok(true) => {
                    backoff.reset();
                    continue;
                }
                Ok(false) => {
                    backoff.reset();
                    Duration::from_millis(IDLE_POLL_MS)
                }
                Err(error) => {
                    tracing::debug!(%destination, %error, "replication round failed; backing off");
                    self.inner
                        .metrics
                        .update(self.me(), &destination, |p| p.retries += 1);
                    backoff.next_delay()
                }
            };
            tokio::select! {
                _ = changed.changed(), if pause.as_millis() as u64 == IDLE_POLL_MS => {}
                _ = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => {}
            }
        }
    }

    /// Ships one batch of every global table that replicates to `destination`. Ok(true) if
    /// anything moved (more may be waiting).
    async fn ship_round(&self, region: &dyn LocalRegion, destination: &str) -> StepResult<bool> {
        let store = region.store();
        let mut moved = false;
        for name in table::list_tables(store).map_err(text)? {
            let Some(meta) = table::load_table(store, &name).map_err(text)? else {
                continue;
            };
            if !meta.replica_destinations().any(|d| d == destination) {
                continue;
            }
            moved |= self.ship_table(region, &meta, destination).await?;
        }
        Ok(moved)
    }

    async fn ship_table(
        &self,
        region: &dyn LocalRegion,
        meta: &TableMeta,
        destination: &str,
    ) -> StepResult<bool> {
        let store = region.store();
        let Some(durable) =
            table::replication_cursor(store, &meta.id, destination).map_err(text)?
        else {
            return Ok(false);
        };
        // What the destination has committed: the durable cursor, or further if acknowledgements
        // of batches it confirmed are still being committed here.
        let delivered_key = (destination.to_owned(), meta.id);
        let cursor = self
            .inner
            .delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&delivered_key)
            .copied()
            .unwrap_or(0)
            .max(durable);
        let last = table::changes::last_seq(store, &meta.id).map_err(text)?;
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                (destination.to_owned(), meta.name.clone()),
                last.saturating_sub(cursor),
            );
        if last <= cursor {
            return Ok(false);
        }
        let records =
            table::read_changes(store, &meta.id, cursor + 1, REPLICATION_BATCH_CHANGES_MAX)
                .map_err(text)?;
        let mut changes = Vec::new();
        let mut bytes = 0;
        let mut upto = cursor;
        for record in records {
            if record.version.region == self.me() {
                let size =
                    item_size(&record.keys) + record.new.as_ref().map(item_size).unwrap_or(0);
                if !changes.is_empty() && bytes + size > REPLICATION_BATCH_BYTES_MAX {
                    break;
                }
                bytes += size;
                changes.push(RemoteChange {
                    keys: record.keys,
                    item: record.new,
                    version: record.version,
                });
            }
            upto = record.seq;
        }
        if upto == cursor {
            // Records trimmed under the cursor (cannot normally happen): skip to the end.
            upto = last;
        }
        let sent = changes.len() as u64;
        if !changes.is_empty() {
            let batch = RemoteBatch {
                table: meta.name.clone(),
                source: self.me().to_owned(),
                changes,
            };
            self.send_batch(destination, meta, batch, true).await?;
            self.inner.metrics.update(self.me(), destination, |p| {
                p.batches += 1;
                p.changes_sent += sent;
            });
        }
        self.inner
            .delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(delivered_key, upto);
        // The cursor's advance is committed in the background, so the next batch need not wait
        // for it: if it is lost (a leader change), the next leader re-sends from the durable
        // cursor, and applying is idempotent.
        let ack = Command::AckReplication(table::ReplicationAck {
            table: meta.name.clone(),
            destination: destination.to_owned(),
            seq: upto,
        });
        if let Some(local) = self.local() {
            tokio::spawn(async move {
                if let Err(error) = propose(&*local, &ack).await {
                    tracing::debug!(%error, "replication cursor not advanced; it will be re-sent");
                }
            });
        }
        Ok(true)
    }

    /// Sends one batch; if the destination has no such table yet, creates it there first.
    async fn send_batch(
        &self,
        destination: &str,
        meta: &TableMeta,
        batch: RemoteBatch,
        live: bool,
    ) -> StepResult<ReplicateResult> {
        let request = ApplyRequest { batch, live };
        let result: ReplicateResult = self
            .inner
            .client
            .call(destination, paths::APPLY, &request)
            .await
            .map_err(text)?;
        if result.table_missing {
            self.ensure_remote(destination, meta).await?;
            return Err(format!(
                "table {} was missing in {destination}; created it",
                meta.name
            ));
        }
        Ok(result)
    }

    async fn ensure_remote(&self, destination: &str, meta: &TableMeta) -> StepResult<()> {
        let message = EnsureTable { meta: meta.clone() };
        self.inner
            .client
            .call::<_, ()>(destination, paths::ENSURE_TABLE, &message)
            .await
            .map_err(text)
    }

    // ---------------------------------------------------------------- maintenance

    async fn maintenance_loop(self) {
        let mut stopped = self.inner.stopped.subscribe();
        let mut last_anti_entropy = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(MAINTENANCE_PERIOD_MS)) => {}
                _ = stopped.changed() => {}
            }
            if self.stopped() {
                return;
            }
            let Some(region) = self.local() else { return };
            if !region.is_leader() {
                continue;
            }
            drop(region);
            if let Err(error) = self.start_backfills() {
                tracing::warn!(%error, "cannot list tables for backfill");
            }
            let interval = self.inner.settings.anti_entropy_interval_ms;
            if interval > 0 && last_anti_entropy.elapsed() >= Duration::from_millis(interval) {
                last_anti_entropy = Instant::now();
                match self.anti_entropy().await {
                    Ok(repaired) => self.inner.metrics.anti_entropy_round(repaired),
                    Err(error) => tracing::debug!(%error, "anti-entropy round failed"),
                }
            }
        }
    }

    /// Starts a backfill task for every replica this region added and has not filled yet.
    fn start_backfills(&self) -> StepResult<()> {
        let Some(region) = self.local() else {
            return Ok(());
        };
        let store = region.store();
        for name in table::list_tables(store).map_err(text)? {
            let Some(meta) = table::load_table(store, &name).map_err(text)? else {
                continue;
            };
            for replica in &meta.replicas {
                if replica.status != ReplicaStatus::Creating || replica.region == self.me() {
                    continue;
                }
                let job = (meta.name.clone(), replica.region.clone());
                let fresh = self
                    .inner
                    .backfills
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(job.clone());
                if fresh {
                    let this = self.clone();
                    tokio::spawn(async move {
                        let mut backoff = Backoff::new(&this.inner.settings);
                        while !this.stopped() {
                            match this.backfill(&job.0, &job.1).await {
                                Ok(()) => break,
                                Err(error) => {
                                    tracing::info!(table = %job.0, destination = %job.1, %error, "backfill interrupted; retrying");
                                    tokio::time::sleep(backoff.next_delay()).await;
                                }
                            }
                        }
                        this.inner
                            .backfills
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&job);
                    });
                }
            }
        }
        Ok(())
    }

    /// Fills a new replica: creates it there, has every replica ship to it, copies every item
    /// with its version (writes continue and are shipped meanwhile), then marks it ACTIVE.
    async fn backfill(&self, table_name: &str, destination: &str) -> StepResult<()> {
        let region = self.local().ok_or("shutting down")?;
        if !region.is_leader() {
            return Ok(());
        }
        let store = region.store().clone();
        let Some(meta) = table::load_table(&store, table_name).map_err(text)? else {
            return Ok(());
        };
        if !meta
            .replicas
            .iter()
            .any(|r| r.region == destination && r.status == ReplicaStatus::Creating)
        {
            return Ok(());
        }
        for other in meta.replica_destinations() {
            self.ensure_remote(other, &meta).await?;
        }
        let prefix = storage::keys::table_prefix(&meta.id);
        let end = storage::keys::prefix_range(&prefix).1;
        let mut lower = Bound::Included(prefix);
        loop {
            let mut changes = Vec::new();
            let mut bytes = 0;
            let mut last_key = None;
            for entry in store.range(Space::Items, lower.clone(), end.clone(), false) {
                let (key, value) = entry.map_err(text)?;
                let stored = table::decode_stored(&value).map_err(text)?;
                bytes += value.len();
                changes.push(RemoteChange {
                    keys: table::key::key_item(&meta.key_schema, &stored.item),
                    item: Some(stored.item),
                    version: stored.version,
                });
                last_key = Some(key);
                if changes.len() >= REPLICATION_BATCH_CHANGES_MAX
                    || bytes >= REPLICATION_BATCH_BYTES_MAX
                {
                    break;
                }
            }
            let Some(last_key) = last_key else { break };
            let batch = RemoteBatch {
                table: meta.name.clone(),
                source: self.me().to_owned(),
                changes,
            };
            self.send_batch(destination, &meta, batch, false).await?;
            lower = Bound::Excluded(last_key);
        }
        let Some(current) = table::load_table(&store, table_name).map_err(text)? else {
            return Ok(());
        };
        let mut replicas = current.replicas.clone();
        for replica in &mut replicas {
            if replica.region == destination {
                replica.status = ReplicaStatus::Active;
            }
        }
        let set = Command::SetReplicas(ReplicaSet {
            table: current.name.clone(),
            replicas,
            global_table_version: current.global_table_version.clone(),
        });
        let updated = expect_table(propose(&*region, &set).await?)?;
        for other in updated.replica_destinations() {
            self.ensure_remote(other, &updated).await?;
        }
        tracing::info!(table = %table_name, %destination, "replica backfilled");
        Ok(())
    }

    /// One anti-entropy round over every global table and destination; returns how many
    /// buckets it repaired.
    pub async fn anti_entropy(&self) -> StepResult<u64> {
        let region = self.local().ok_or("shutting down")?;
        let store = region.store().clone();
        let now_ms = region.now_ms();
        drop(region);
        let mut repaired = 0;
        for name in table::list_tables(&store).map_err(text)? {
            let Some(meta) = table::load_table(&store, &name).map_err(text)? else {
                continue;
            };
            if !meta.is_global() {
                continue;
            }
            let local = table_digest(&store, &meta).map_err(text)?;
            for replica in &meta.replicas {
                if replica.region == self.me() || replica.status != ReplicaStatus::Active {
                    continue;
                }
                let remote: Option<Digest> = self
                    .inner
                    .client
                    .call(&replica.region, paths::DIGEST, &meta.name)
                    .await
                    .map_err(text)?;
                let Some(remote) = remote else {
                    self.ensure_remote(&replica.region, &meta).await?;
                    continue;
                };
                let differing: BTreeSet<usize> = local.differing(&remote).into_iter().collect();
                self.inner
                    .metrics
                    .compared(&meta.name, &replica.region, differing.len(), now_ms);
                if differing.is_empty() {
                    continue;
                }
                repaired += differing.len() as u64;
                self.repair(&store, &meta, &replica.region, &differing)
                    .await?;
            }
        }
        Ok(repaired)
    }

    /// Sends every item and tombstone of the given buckets to `destination`.
    async fn repair(
        &self,
        store: &storage::Store,
        meta: &TableMeta,
        destination: &str,
        buckets: &BTreeSet<usize>,
    ) -> StepResult<()> {
        let mut changes = Vec::new();
        for entry in store.scan_prefix(Space::Items, &storage::keys::table_prefix(&meta.id)) {
            let (key, value) = entry.map_err(text)?;
            if !buckets.contains(&bucket_of(&key)) {
                continue;
            }
            let stored = table::decode_stored(&value).map_err(text)?;
            changes.push(RemoteChange {
                keys: table::key::key_item(&meta.key_schema, &stored.item),
                item: Some(stored.item),
                version: stored.version,
            });
        }
        for (key, tombstone) in table::tombstone::table_tombstones(store, meta).map_err(text)? {
            if !buckets.contains(&bucket_of(&key)) {
                continue;
            }
            changes.push(RemoteChange {
                keys: tombstone.keys,
                item: None,
                version: tombstone.version,
            });
        }
        for chunk in changes.chunks(REPLICATION_BATCH_CHANGES_MAX) {
            let batch = RemoteBatch {
                table: meta.name.clone(),
                source: self.me().to_owned(),
                changes: chunk.to_vec(),
            };
            self.send_batch(destination, meta, batch, false).await?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- control

    /// The local region and the table a control operation is about.
    fn control_target(
        &self,
        table_name: &str,
    ) -> Result<(Arc<dyn LocalRegion>, TableMeta), ControlError> {
        let region = self
            .local()
            .ok_or_else(|| ControlError::Unavailable("shutting down".into()))?;
        let meta = table::load_table(region.store(), table_name)
            .map_err(|e| ControlError::Unavailable(e.to_string()))?
            .ok_or_else(|| {
                ControlError::NotFound(format!(
                    "Requested resource not found: Table: {table_name} not found"
                ))
            })?;
        Ok((region, meta))
    }

    /// Adds replicas of `table` in `regions` (status CREATING until backfilled) and returns
    /// the table as it now is. The new replicas are created at once when their regions answer,
    /// and by the backfill otherwise.
    pub async fn add_replicas(
        &self,
        table_name: &str,
        regions: &[String],
        version: &str,
    ) -> Result<TableMeta, ControlError> {
        let (region, meta) = self.control_target(table_name)?;
        let mut replicas = if meta.replicas.is_empty() {
            vec![Replica {
                region: self.me().to_owned(),
                status: ReplicaStatus::Active,
            }]
        } else {
            meta.replicas.clone()
        };
        for new in regions {
            if !self.knows(new) {
                return Err(ControlError::Validation(format!(
                    "Region {new} is not one of this deployment's regions ({})",
                    self.regions().join(", ")
                )));
            }
            if replicas.iter().any(|r| &r.region == new) {
                return Err(ControlError::Validation(format!(
                    "Failed to create a replica in region {new}: the table already has a replica there"
                )));
            }
            replicas.push(Replica {
                region: new.clone(),
                status: ReplicaStatus::Creating,
            });
        }
        let set = Command::SetReplicas(ReplicaSet {
            table: table_name.to_owned(),
            replicas,
            global_table_version: Some(version.to_owned()),
        });
        let updated = propose(&*region, &set)
            .await
            .map_err(ControlError::Unavailable)
            .and_then(|o| expect_table(o).map_err(ControlError::Unavailable))?;
        // Create the new replicas now if their regions answer, so they are usable as soon as
        // this returns; the backfill retries whatever fails here.
        for new in regions {
            if let Err(error) = self.ensure_remote(new, &updated).await {
                tracing::info!(%new, %error, "replica not created yet; the backfill will retry");
            }
        }
        Ok(updated)
    }

    /// Removes the replicas of `table` in `regions`: this region stops shipping to them at
    /// once; the remaining replicas are told, and the removed ones' copies are deleted, in the
    /// background.
    pub async fn remove_replicas(
        &self,
        table_name: &str,
        regions: &[String],
    ) -> Result<TableMeta, ControlError> {
        let (region, meta) = self.control_target(table_name)?;
        for gone in regions {
            if gone == self.me() {
                return Err(ControlError::Validation(format!(
                    "Cannot delete the replica in {gone} through its own region; call DeleteTable there, or UpdateTable in another replica's region"
                )));
            }
            if !meta.replicas.iter().any(|r| &r.region == gone) {
                return Err(ControlError::Validation(format!(
                    "Failed to delete a replica in region {gone}: the table has no replica there"
                )));
            }
        }
        let mut replicas: Vec<Replica> = meta
            .replicas
            .iter()
            .filter(|r| !regions.contains(&r.region))
            .cloned()
            .collect();
        let mut version = meta.global_table_version.clone();
        if replicas.len() <= 1 {
            replicas.clear();
            version = None;
        }
        let set = Command::SetReplicas(ReplicaSet {
            table: table_name.to_owned(),
            replicas,
            global_table_version: version,
        });
        let updated = propose(&*region, &set)
            .await
            .map_err(ControlError::Unavailable)
            .and_then(|o| expect_table(o).map_err(ControlError::Unavailable))?;
        let this = self.clone();
        let remaining: Vec<String> = meta
            .replica_destinations()
            .filter(|r| !regions.iter().any(|g| g == r))
            .map(str::to_owned)
            .collect();
        let removed = regions.to_vec();
        let announced = updated.clone();
        tokio::spawn(async move {
            for other in remaining {
                this.retry(|| this.ensure_remote(&other, &announced)).await;
            }
            for gone in removed {
                let name = announced.name.clone();
                this.retry(|| async {
                    this.inner
                        .client
                        .call::<_, ()>(&gone, paths::DROP_TABLE, &name)
                        .await
                        .map_err(text)
                })
                .await;
            }
        });
        Ok(updated)
    }

    /// Has every other replica of `meta` make the same index change (a global secondary
    /// index created or deleted through UpdateTable), in the background, with retries.
    pub fn propagate_definition(&self, meta: &TableMeta, command: &Command) {
        let Ok(payload) = command.encode() else {
            return;
        };
        let others: Vec<String> = meta.replica_destinations().map(str::to_owned).collect();
        let this = self.clone();
        tokio::spawn(async move {
            for other in others {
                this.retry(|| async {
                    this.inner
                        .client
                        .call::<_, ()>(&other, paths::DEFINITION, &payload)
                        .await
                        .map_err(text)
                })
                .await;
            }
        });
    }

    /// Tells every other replica of `meta` about settings that all replicas share (time to
    /// live), in the background, with retries.
    pub fn announce(&self, meta: &TableMeta) {
        let announced = meta.clone();
        let others: Vec<String> = meta.replica_destinations().map(str::to_owned).collect();
        let this = self.clone();
        tokio::spawn(async move {
            for other in others {
                this.retry(|| this.ensure_remote(&other, &announced)).await;
            }
        });
    }

    /// After this region's replica of `meta` was deleted: tells the other replicas to drop
    /// this region from the table's replica set (in the background, with retries).
    pub fn leave(&self, meta: &TableMeta) {
        let mut announced = meta.clone();
        announced.replicas.retain(|r| r.region != self.me());
        if announced.replicas.len() <= 1 {
            announced.replicas.clear();
            announced.global_table_version = None;
        }
        let others: Vec<String> = meta.replica_destinations().map(str::to_owned).collect();
        let this = self.clone();
        tokio::spawn(async move {
            for other in others {
                this.retry(|| this.ensure_remote(&other, &announced)).await;
            }
        });
    }

    /// Runs `step` until it succeeds, with backoff, for at most [`CONTROL_RETRIES_MAX`] tries.
    async fn retry<F, Fut>(&self, mut step: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = StepResult<()>>,
    {
        let mut backoff = Backoff::new(&self.inner.settings);
        for _ in 0..CONTROL_RETRIES_MAX {
            match step().await {
                Ok(()) => return,
                Err(error) => {
                    tracing::info!(%error, "cross-region control call failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
    }

    // ---------------------------------------------------------------- receiving

    /// Serves a cross-region request (the peer listener has checked the cluster secret). An
    /// `Err` is an HTTP status and a reason.
    pub async fn handle(&self, path: &str, body: Bytes) -> Result<Vec<u8>, (u16, String)> {
        let region = self.local().ok_or((503, "shutting down".to_owned()))?;
        let bad = |e: wire::WireError| (400, e.to_string());
        let failed = |e: String| (503, e);
        let answer = match path {
            paths::APPLY => {
                let request: ApplyRequest = wire::decode(&body).map_err(bad)?;
                let result = self.receive(&*region, request).await.map_err(failed)?;
                wire::encode(&result)
            }
            paths::ENSURE_TABLE => {
                let message: EnsureTable = wire::decode(&body).map_err(bad)?;
                self.ensure_local(&*region, message.meta)
                    .await
                    .map_err(failed)?;
                wire::encode(&())
            }
            paths::DROP_TABLE => {
                let name: String = wire::decode(&body).map_err(bad)?;
                if table::load_table(region.store(), &name)
                    .map_err(text)
                    .map_err(failed)?
                    .is_some()
                {
                    propose(&*region, &Command::DeleteTable { name })
                        .await
                        .map_err(failed)?;
                }
                wire::encode(&())
            }
            paths::DEFINITION => {
                let payload: Vec<u8> = wire::decode(&body).map_err(bad)?;
                let command = Command::decode(&payload).map_err(|e| (400, e.to_string()))?;
                self.apply_definition(&*region, command)
                    .await
                    .map_err(failed)?;
                wire::encode(&())
            }
            paths::DIGEST => {
                let name: String = wire::decode(&body).map_err(bad)?;
                let digest = match table::load_table(region.store(), &name)
                    .map_err(text)
                    .map_err(failed)?
                {
                    Some(meta) => Some(
                        table_digest(region.store(), &meta)
                            .map_err(text)
                            .map_err(failed)?,
                    ),
                    None => None,
                };
                wire::encode(&digest)
            }
            _ => return Err((404, format!("no such replication endpoint {path}"))),
        };
        answer.map_err(|e| (500, e.to_string()))
    }

    async fn receive(
        &self,
        region: &dyn LocalRegion,
        request: ApplyRequest,
    ) -> StepResult<ReplicateResult> {
        let source = request.batch.source.clone();
        let stamps: Vec<i64> = request
            .batch
            .changes
            .iter()
            .map(|c| c.version.timestamp.wall_ms())
            .collect();
        let outcome = propose(region, &Command::Replicate(request.batch)).await?;
        let Outcome::Replicated(result) = outcome else {
            return Err(format!(
                "unexpected outcome of a replicated batch: {outcome:?}"
            ));
        };
        let now = region.now_ms();
        self.inner.metrics.update(&source, self.me(), |p| {
            p.applied += result.applied;
            p.conflicts += result.superseded;
        });
        if request.live && !result.table_missing {
            let latencies: Vec<u64> = stamps
                .iter()
                .map(|&t| now.saturating_sub(t).max(0) as u64)
                .collect();
            self.inner
                .metrics
                .observe_latencies(&source, self.me(), &latencies);
        }
        Ok(result)
    }

    /// Makes an index change another replica made, unless it is already made here.
    async fn apply_definition(&self, region: &dyn LocalRegion, command: Command) -> StepResult<()> {
        let (table_name, index_name, creating) = match &command {
            Command::CreateIndex { table, index, .. } => (table, &index.name, true),
            Command::DeleteIndex { table, index } => (table, index, false),
            other => return Err(format!("not a replicated definition change: {other:?}")),
        };
        let Some(meta) = table::load_table(region.store(), table_name).map_err(text)? else {
            return Ok(());
        };
        if meta.index(index_name).is_none() == creating {
            propose(region, &command).await?;
        }
        Ok(())
    }

    /// Creates the local replica of a table another region announced, or updates its replica
    /// set.
    async fn ensure_local(&self, region: &dyn LocalRegion, announced: TableMeta) -> StepResult<()> {
        let existing = table::load_table(region.store(), &announced.name).map_err(text)?;
        if let (Some(local), Some(ttl)) = (&existing, &announced.ttl) {
            // Every replica has the same time-to-live setting.
            if local.ttl.as_ref() != Some(ttl) {
                let update = Command::SetTimeToLive(table::TtlUpdate {
                    table: announced.name.clone(),
                    attribute: ttl.attribute.clone(),
                    enabled: ttl.enabled,
                });
                propose(region, &update).await?;
            }
        }
        if existing.is_none() {
            let mut meta = announced.clone();
            meta.region = self.me().to_owned();
            meta.replicas = Vec::new();
            meta.global_table_version = None;
            meta.status = TableStatus::Active;
            match propose(region, &Command::CreateTable(meta)).await? {
                Outcome::Table(_) | Outcome::Rejected(table::Rejection::ResourceInUse(_)) => {}
                other => return Err(format!("cannot create the replica: {other:?}")),
            }
        }
        // Only the region that added a replica backfills it: here every replica is ACTIVE.
        let replicas = announced
            .replicas
            .iter()
            .map(|r| Replica {
                region: r.region.clone(),
                status: ReplicaStatus::Active,
            })
            .collect();
        let set = Command::SetReplicas(ReplicaSet {
            table: announced.name.clone(),
            replicas,
            global_table_version: announced.global_table_version.clone(),
        });
        expect_table(propose(region, &set).await?)?;
        self.notify_applied();
        Ok(())
    }
}

/// How long an idle shipping loop waits for news before looking again.
const IDLE_POLL_MS: u64 = 250;
/// Period of the maintenance loop (backfills start, anti-entropy checks its interval).
const MAINTENANCE_PERIOD_MS: u64 = 500;
/// Tries of a background control call (telling replicas about a removal).
const CONTROL_RETRIES_MAX: usize = 40;

async fn propose(region: &dyn LocalRegion, command: &Command) -> StepResult<Outcome> {
    let payload = command.encode().map_err(text)?;
    let bytes = region.propose(payload).await?;
    Outcome::decode(&bytes).map_err(text)
}

fn expect_table(outcome: Outcome) -> StepResult<TableMeta> {
    match outcome {
        Outcome::Table(meta) => Ok(meta),
        Outcome::Rejected(rejection) => Err(format!("{rejection:?}")),
        other => Err(format!("unexpected outcome {other:?}")),
    }
}

/// Jittered exponential backoff.
struct Backoff {
    min: u64,
    max: u64,
    current: u64,
}

impl Backoff {
    fn new(settings: &ReplicationSettings) -> Backoff {
        Backoff {
            min: settings.backoff_min_ms.max(1),
            max: settings.backoff_max_ms.max(settings.backoff_min_ms.max(1)),
            current: settings.backoff_min_ms.max(1),
        }
    }

    fn reset(&mut self) {
        self.current = self.min;
    }

    /// The next delay: uniformly random in [current/2, current], then the base doubles.
    fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        let half = base / 2;
        let jitter = (uuid::Uuid::new_v4().as_u128() as u64) % (base - half + 1);
        Duration::from_millis(half + jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let settings = ReplicationSettings {
            backoff_min_ms: 100,
            backoff_max_ms: 1_000,
            ..ReplicationSettings::default()
        };
        let mut backoff = Backoff::new(&settings);
        let delays: Vec<u64> = (0..8)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert!((50..=100).contains(&delays[0]), "{delays:?}");
        assert!((100..=200).contains(&delays[1]), "{delays:?}");
        assert!(
            delays[6..].iter().all(|d| (500..=1_000).contains(d)),
            "{delays:?}"
        );
        backoff.reset();
        assert!(backoff.next_delay().as_millis() <= 100);
    }
}
