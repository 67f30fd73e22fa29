//! Shipping: on the region leader, one loop per destination sends each global table's
//! locally originated changes from the destination's cursor, in bounded batches.

use super::*;

impl Replicator {
    pub(super) async fn ship_loop(self, destination: String) {
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
            // Idle: wait for the next apply (or a poll). After a failure: wait out the backoff.
            let (idle, pause) = match round {
                Ok(true) => {
                    backoff.reset();
                    continue;
                }
                Ok(false) => {
                    backoff.reset();
                    (true, Duration::from_millis(IDLE_POLL_MS))
                }
                Err(error) => {
                    tracing::debug!(%destination, %error, "replication round failed; backing off");
                    self.inner
                        .metrics
                        .update(self.me(), &destination, |p| p.retries += 1);
                    (false, backoff.next_delay())
                }
            };
            tokio::select! {
                _ = changed.changed(), if idle => {}
                _ = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => {}
            }
        }
    }

    /// Ships one batch of every global table that replicates to `destination`. Ok(true) if
    /// anything moved (more may be waiting).
    pub(super) async fn ship_round(
        &self,
        region: &dyn LocalRegion,
        destination: &str,
    ) -> StepResult<bool> {
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

    pub(super) async fn ship_table(
        &self,
        region: &dyn LocalRegion,
        meta: &TableMeta,
        destination: &str,
    ) -> StepResult<bool> {
        let store = region.store();
        // Read before the change log: every local write not yet in the log will tick above it.
        let hlc = table::watermark::hlc_last(store).map_err(text)?;
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
            self.inner
                .metrics
                .update(self.me(), destination, |p| p.lag_ms = 0);
            // Caught up: the destination has every local write up to the clock.
            self.advance_origin(destination, meta, hlc);
            self.report_watermark(region, destination, meta).await;
            return Ok(false);
        }
        let paused = self.paused(&meta.name, destination);
        let limit = if paused {
            1
        } else {
            REPLICATION_BATCH_CHANGES_MAX
        };
        let records = table::read_changes(store, &meta.id, cursor + 1, limit).map_err(text)?;
        // Lag: how long the oldest record the destination has not confirmed has waited.
        if let Some(oldest) = records.first() {
            let lag_ms = region.now_ms().saturating_sub(oldest.applied_ms).max(0) as u64;
            self.inner
                .metrics
                .update(self.me(), destination, |p| p.lag_ms = lag_ms);
        }
        if paused {
            // Writes keep being accepted and queue up in the change log; nothing ships until
            // the pause ends (or is cleared).
            self.inner.settings.chaos.chaos.note_paused_round();
            return Ok(false);
        }
        let mut changes = Vec::new();
        let mut bytes = 0;
        let mut upto = cursor;
        let mut newest_local = model::Timestamp::ZERO;
        for record in records {
            if record.version.region == self.me() {
                let size =
                    item_size(&record.keys) + record.new.as_ref().map(item_size).unwrap_or(0);
                if !changes.is_empty() && bytes + size > REPLICATION_BATCH_BYTES_MAX {
                    break;
                }
                newest_local = newest_local.max(record.version.timestamp);
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
        // Local writes ship in log order with increasing timestamps: everything up to the
        // newest one sent has arrived, and, caught up, everything up to the clock.
        let reached = if upto >= last {
            newest_local.max(hlc)
        } else {
            newest_local
        };
        self.advance_origin(destination, meta, reached);
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
        self.report_watermark(region, destination, meta).await;
        Ok(true)
    }

    fn advance_origin(&self, destination: &str, meta: &TableMeta, reached: model::Timestamp) {
        let mut all = self
            .inner
            .watermarks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let state = all.entry((destination.to_owned(), meta.id)).or_default();
        state.origin = state.origin.max(reached);
    }

    /// Tells `destination` this region's watermarks for `meta`'s table when they moved (at most
    /// every [`WATERMARK_INTERVAL_MS`]); a failure is retried at a later round.
    async fn report_watermark(
        &self,
        region: &dyn LocalRegion,
        destination: &str,
        meta: &TableMeta,
    ) {
        // A replica still being backfilled lacks older items whatever this region shipped:
        // nothing can be claimed about it until it is ACTIVE.
        let active = meta
            .replicas
            .iter()
            .any(|r| r.region == destination && r.status == ReplicaStatus::Active);
        if !active {
            return;
        }
        let key = (destination.to_owned(), meta.id);
        // Checked before reading the store: this runs on every shipping round, that is on
        // every apply, and reports go out at most every WATERMARK_INTERVAL_MS.
        let origin = {
            let all = self
                .inner
                .watermarks
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let Some(state) = all.get(&key) else { return };
            let recent = state
                .told_at
                .is_some_and(|t| t.elapsed() < Duration::from_millis(WATERMARK_INTERVAL_MS));
            if recent {
                return;
            }
            state.origin
        };
        let peers = match table::watermark::peer_watermarks(region.store(), meta) {
            Ok(peers) => peers,
            Err(error) => {
                tracing::warn!(%error, "cannot read watermarks");
                return;
            }
        };
        let report = table::watermark::PeerWatermark {
            origin,
            stable: table::watermark::stable(meta.replica_destinations(), &peers),
        };
        {
            let mut all = self
                .inner
                .watermarks
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let state = all.entry(key.clone()).or_default();
            if state.told == Some(report) {
                // Nothing new to tell: look again after the interval.
                state.told_at = Some(Instant::now());
                return;
            }
        }
        let update = table::watermark::WatermarkUpdate {
            table: meta.name.clone(),
            source: self.me().to_owned(),
            watermark: report,
        };
        let sent = self
            .inner
            .client
            .call::<_, ()>(destination, paths::WATERMARK, &update)
            .await;
        let mut all = self
            .inner
            .watermarks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let state = all.entry(key).or_default();
        state.told_at = Some(Instant::now());
        match sent {
            Ok(()) => state.told = Some(report),
            Err(error) => tracing::debug!(%destination, %error, "watermark not delivered"),
        }
    }

    /// Sends one batch; if the destination has no such table yet, creates it there first.
    pub(super) async fn send_batch(
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

    pub(super) async fn ensure_remote(
        &self,
        destination: &str,
        meta: &TableMeta,
    ) -> StepResult<()> {
        let message = EnsureTable { meta: meta.clone() };
        self.inner
            .client
            .call::<_, ()>(destination, paths::ENSURE_TABLE, &message)
            .await
            .map_err(text)
    }
}
