//! The receiving side of the cross-region protocol, on every node.

use super::*;

impl Replicator {
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
            paths::WATERMARK => {
                let update: table::watermark::WatermarkUpdate = wire::decode(&body).map_err(bad)?;
                propose(&*region, &Command::Watermark(update))
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

    pub(super) async fn receive(
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
    pub(super) async fn apply_definition(
        &self,
        region: &dyn LocalRegion,
        command: Command,
    ) -> StepResult<()> {
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
    pub(super) async fn ensure_local(
        &self,
        region: &dyn LocalRegion,
        announced: TableMeta,
    ) -> StepResult<()> {
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
