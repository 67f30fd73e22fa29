//! The leader's maintenance loop: backfills of new replicas and anti-entropy rounds.

use super::*;

impl Replicator {
    pub(super) async fn maintenance_loop(self) {
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
    pub(super) fn start_backfills(&self) -> StepResult<()> {
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
    pub(super) async fn backfill(&self, table_name: &str, destination: &str) -> StepResult<()> {
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
        if self.paused(table_name, destination) {
            return Err(format!(
                "replication of {table_name} to {destination} is paused by a chaos fault"
            ));
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
                // A paused pair stays apart until the pause ends: repairing it would undo the
                // pause (as in DynamoDB, where a paused replica receives nothing).
                if self.paused(&meta.name, &replica.region) {
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
    pub(super) async fn repair(
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
}
