//! Control operations the global-tables API calls: adding and removing replicas, and
//! telling the other replicas about settings they share.

use super::*;

impl Replicator {
    /// The local region and the table a control operation is about.
    pub(super) fn control_target(
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
        let remaining: Vec<String> = meta
            .replica_destinations()
            .filter(|r| !regions.iter().any(|g| g == r))
            .map(str::to_owned)
            .collect();
        self.tell(
            remaining,
            paths::ENSURE_TABLE,
            EnsureTable {
                meta: updated.clone(),
            },
        );
        self.tell(regions.to_vec(), paths::DROP_TABLE, updated.name.clone());
        Ok(updated)
    }

    /// Has every other replica of `meta` make the same index change (a global secondary
    /// index created or deleted through UpdateTable).
    pub fn propagate_definition(&self, meta: &TableMeta, command: &Command) {
        if let Ok(payload) = command.encode() {
            self.tell(destinations(meta), paths::DEFINITION, payload);
        }
    }

    /// Tells every other replica of `meta` about settings that all replicas share (time to
    /// live).
    pub fn announce(&self, meta: &TableMeta) {
        let message = EnsureTable { meta: meta.clone() };
        self.tell(destinations(meta), paths::ENSURE_TABLE, message);
    }

    /// After this region's replica of `meta` was deleted: tells the other replicas to drop
    /// this region from the table's replica set.
    pub fn leave(&self, meta: &TableMeta) {
        let mut announced = meta.clone();
        announced.replicas.retain(|r| r.region != self.me());
        if announced.replicas.len() <= 1 {
            announced.replicas.clear();
            announced.global_table_version = None;
        }
        let message = EnsureTable { meta: announced };
        self.tell(destinations(meta), paths::ENSURE_TABLE, message);
    }

    /// Sends `message` to `path` in each of `regions`, in the background, retrying each
    /// with backoff (at most [`CONTROL_RETRIES_MAX`] tries).
    fn tell<T>(&self, regions: Vec<String>, path: &'static str, message: T)
    where
        T: serde::Serialize + Send + Sync + 'static,
    {
        let this = self.clone();
        tokio::spawn(async move {
            for region in regions {
                this.retry(|| async {
                    this.inner
                        .client
                        .call::<_, ()>(&region, path, &message)
                        .await
                        .map_err(text)
                })
                .await;
            }
        });
    }

    /// Runs `step` until it succeeds, with backoff, for at most [`CONTROL_RETRIES_MAX`] tries.
    pub(super) async fn retry<F, Fut>(&self, mut step: F)
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
}

/// The other regions `meta` replicates to.
fn destinations(meta: &TableMeta) -> Vec<String> {
    meta.replica_destinations().map(str::to_owned).collect()
}
