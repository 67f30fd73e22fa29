//! Applying commands: the deterministic heart of every replica.
//!
//! Writes are applied in two steps. `prepare` reads the current item, evaluates the condition
//! and computes the new item without writing anything; `commit` writes it. A transaction or a
//! batch prepares every action first and commits only if all succeed, so a rejection leaves no
//! trace.

use serde::{Deserialize, Serialize};

use expr::{Path, PathElement};
use model::limits::{ITEM_SIZE_BYTES_MAX, TRANSACT_TOKEN_TTL_MS};
use model::size::item_size;
use model::{Hlc, Item, TableMeta, Timestamp, Version};
use storage::{ApplyView, Space};

use crate::catalog::{adjust_stats, drop_table, put_table, view_table};
use crate::changes::{self, ChangeRecordRef};
use crate::command::{
    decode_versioned, encode_versioned, Command, ItemGet, ItemWrite, Outcome, ReturnValues,
    TableUpdate, TransactWrite, WriteKind, WriteResult,
};
use crate::error::{CancellationReason, Rejection, TableError};
use crate::indexes;
use crate::key::{decode_item, encode_item, key_item, key_of_item, key_of_request};
use crate::tombstone;

/// Applies commands to one replica's state. Everything it needs is in the command, the log
/// entry's wall-clock reading and the view; it knows only which region it is in, which it
/// stamps on the versions of local writes.
#[derive(Debug, Clone)]
pub struct Engine {
    region: String,
}

/// A write that passed its checks and is ready to be written.
#[derive(Debug)]
struct Prepared {
    meta: TableMeta,
    storage_key: Vec<u8>,
    old: Option<Item>,
    /// `None` deletes the item; `Some(None)`-like "no change" is `unchanged`.
    new: Option<Item>,
    unchanged: bool,
    result: WriteResult,
}

/// A stored ClientRequestToken: what it stood for and what it answered.
#[derive(Debug, Serialize, Deserialize)]
struct TokenRecord {
    digest: u64,
    created_ms: i64,
    outcome: Vec<u8>,
}

impl Engine {
    /// The engine of a replica in `region`.
    pub fn new(region: impl Into<String>) -> Engine {
        Engine {
            region: region.into(),
        }
    }

    /// The region this replica is in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Applies one encoded command and returns the encoded outcome. An `Err` is a failure of
    /// storage or encoding (fatal for the node); rejections are part of the outcome.
    pub fn apply_payload(
        &self,
        view: &mut ApplyView<'_>,
        payload: &[u8],
        wall_ms: i64,
    ) -> Result<Vec<u8>, TableError> {
        let command = Command::decode(payload)?;
        let outcome = self.apply(view, &command, wall_ms)?;
        outcome.encode()
    }

    /// Applies one command; `wall_ms` is the leader's clock when it proposed the entry.
    pub fn apply(
        &self,
        view: &mut ApplyView<'_>,
        command: &Command,
        wall_ms: i64,
    ) -> Result<Outcome, TableError> {
        let outcome = match command {
            Command::CreateTable(meta) => self.create_table(view, meta)?,
            Command::DeleteTable { name } => self.delete_table(view, name)?,
            Command::UpdateTable(update) => self.update_table(view, update)?,
            Command::TagResource { name, tags } => self.change_table(view, name, |meta| {
                for (k, v) in tags {
                    meta.tags.insert(k.clone(), v.clone());
                }
            })?,
            Command::UntagResource { name, keys } => self.change_table(view, name, |meta| {
                for k in keys {
                    meta.tags.remove(k);
                }
            })?,
            Command::Write(write) => match self.prepare(view, write)? {
                Ok(prepared) => Outcome::Write(self.commit(view, prepared, wall_ms)?),
                Err(rejection) => Outcome::Rejected(rejection),
            },
            Command::BatchWrite(writes) => self.batch_write(view, writes, wall_ms)?,
            Command::TransactWrite(transact) => self.transact_write(view, transact, wall_ms)?,
            Command::TransactGet(gets) => self.transact_get(view, gets)?,
            Command::Replicate(batch) => self.replicate(view, batch, wall_ms)?,
            Command::AckReplication(ack) => self.ack_replication(view, ack, wall_ms)?,
            Command::SetReplicas(set) => self.set_replicas(view, set)?,
            Command::TrimChanges { table } => self.trim_changes(view, table, wall_ms)?,
            Command::SetStream(update) => crate::stream::set_stream(view, update)?,
            Command::SetTimeToLive(update) => crate::ttl::set_ttl(view, update)?,
            Command::ExpireItems(batch) => self.expire_items(view, batch, wall_ms)?,
            Command::CreateIndex {
                table,
                index,
                attribute_definitions,
            } => indexes::create_index(view, table, index, attribute_definitions)?,
            Command::DeleteIndex { table, index } => indexes::delete_index(view, table, index)?,
            Command::UpdateIndex {
                table,
                index,
                provisioned,
                now_ms,
            } => indexes::update_index(view, table, index, *provisioned, *now_ms)?,
            Command::BackfillIndex {
                table,
                index,
                after_key,
                limit,
            } => indexes::backfill(
                view,
                table,
                index,
                after_key.as_deref(),
                usize::try_from(*limit).unwrap_or(usize::MAX),
            )?,
            Command::Watermark(update) => self.watermark(view, update)?,
            Command::Backup(command) => crate::backup::apply(view, &self.region, command, wall_ms)?,
            Command::SetWarmThroughput(update) => crate::warm::set(view, update)?,
        };
        Ok(outcome)
    }

    fn create_table(
        &self,
        view: &mut ApplyView<'_>,
        meta: &TableMeta,
    ) -> Result<Outcome, TableError> {
        if view_table(view, &meta.name)?.is_some() {
            return Ok(Outcome::Rejected(Rejection::ResourceInUse(format!(
                "Table already exists: {}",
                meta.name
            ))));
        }
        let mut meta = meta.clone();
        crate::stream::rebase(view, &mut meta)?;
        put_table(view, &meta)?;
        Ok(Outcome::Table(meta))
    }

    fn delete_table(&self, view: &mut ApplyView<'_>, name: &str) -> Result<Outcome, TableError> {
        let Some(mut meta) = view_table(view, name)? else {
            return Ok(Outcome::Rejected(Rejection::table_not_found(name)));
        };
        if meta.deletion_protection {
            return Ok(Outcome::Rejected(Rejection::validation(
                "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
            )));
        }
        drop_table(view, &meta)?;
        meta.status = model::TableStatus::Deleting;
        Ok(Outcome::Table(meta))
    }

    fn update_table(
        &self,
        view: &mut ApplyView<'_>,
        update: &TableUpdate,
    ) -> Result<Outcome, TableError> {
        self.change_table(view, &update.name, |meta| {
            if let Some(mode) = update.billing_mode {
                if mode != meta.billing_mode && mode == model::BillingMode::PayPerRequest {
                    meta.billing_mode_updated_ms = Some(update.now_ms);
                }
                meta.billing_mode = mode;
                if mode == model::BillingMode::PayPerRequest {
                    meta.provisioned.read_capacity_units = 0;
                    meta.provisioned.write_capacity_units = 0;
                }
            }
            if let Some((read, write)) = update.provisioned {
                let p = &mut meta.provisioned;
                if read > p.read_capacity_units || write > p.write_capacity_units {
                    p.last_increase_ms = Some(update.now_ms);
                }
                if read < p.read_capacity_units || write < p.write_capacity_units {
                    p.last_decrease_ms = Some(update.now_ms);
                    p.decreases_today += 1;
                }
                p.read_capacity_units = read;
                p.write_capacity_units = write;
            }
            if let Some(protection) = update.deletion_protection {
                meta.deletion_protection = protection;
            }
            if let Some(class) = &update.table_class {
                meta.table_class = class.clone();
            }
        })
    }

    fn change_table(
        &self,
        view: &mut ApplyView<'_>,
        name: &str,
        change: impl FnOnce(&mut TableMeta),
    ) -> Result<Outcome, TableError> {
        let Some(mut meta) = view_table(view, name)? else {
            return Ok(Outcome::Rejected(Rejection::table_not_found(name)));
        };
        change(&mut meta);
        put_table(view, &meta)?;
        Ok(Outcome::Table(meta))
    }

    /// Checks one write against the current state and computes its effect, writing nothing.
    fn prepare(
        &self,
        view: &mut ApplyView<'_>,
        write: &ItemWrite,
    ) -> Result<Result<Prepared, Rejection>, TableError> {
        let Some(meta) = view_table(view, &write.table)? else {
            return Ok(Err(Rejection::ResourceNotFound(
                "Requested resource not found".into(),
            )));
        };
        let key = match &write.kind {
            WriteKind::Put { item } => key_of_item(&meta.key_schema, item),
            WriteKind::Update { key, .. }
            | WriteKind::Delete { key }
            | WriteKind::ConditionCheck { key } => key_of_request(&meta.key_schema, key),
        };
        let key = match key {
            Ok(key) => key,
            Err(rejection) => return Ok(Err(rejection)),
        };
        let storage_key = key.storage_key(&meta);
        let old = match view.get(Space::Items, &storage_key)? {
            Some(bytes) => Some(decode_item(&bytes)?),
            None => None,
        };
        if let Some(condition) = &write.condition {
            let empty = Item::new();
            match condition.evaluate(old.as_ref().unwrap_or(&empty)) {
                Ok(true) => {}
                Ok(false) => {
                    let item = if write.return_old_on_condition_failure {
                        old.clone()
                    } else {
                        None
                    };
                    return Ok(Err(Rejection::ConditionalCheckFailed { item }));
                }
                Err(e) => return Ok(Err(Rejection::validation(e.to_string()))),
            }
        }
        let old_size = old.as_ref().map(item_size).unwrap_or(0);
        let (new, unchanged, targets) = match &write.kind {
            WriteKind::Put { item } => {
                if item_size(item) > ITEM_SIZE_BYTES_MAX {
                    return Ok(Err(Rejection::validation(
                        "Item size has exceeded the maximum allowed size",
                    )));
                }
                (Some(item.clone()), false, Vec::new())
            }
            WriteKind::Delete { .. } => (None, old.is_none(), Vec::new()),
            WriteKind::ConditionCheck { .. } => (old.clone(), true, Vec::new()),
            WriteKind::Update { key, update } => {
                let mut item = old.clone().unwrap_or_else(|| key.clone());
                let mut targets = Vec::new();
                if let Some(update) = update {
                    targets = update.targets();
                    if let Some(name) = targets.iter().find_map(|p| key_attribute_target(&meta, p))
                    {
                        return Ok(Err(Rejection::validation(format!(
                            "One or more parameter values were invalid: Cannot update attribute {name}. This attribute is part of the key"
                        ))));
                    }
                    if let Err(e) = update.apply(&mut item) {
                        return Ok(Err(Rejection::validation(e.to_string())));
                    }
                }
                if item_size(&item) > ITEM_SIZE_BYTES_MAX {
                    return Ok(Err(Rejection::validation(
                        "Item size to update has exceeded the maximum allowed size",
                    )));
                }
                // An update that only removes attributes does not create a missing item.
                if old.is_none() && update.as_ref().is_some_and(|u| u.only_removes()) {
                    (None, true, targets)
                } else {
                    (Some(item), false, targets)
                }
            }
        };
        if let Some(item) = new.as_ref().filter(|_| !unchanged) {
            if let Err(rejection) = indexes::check(&meta, item) {
                return Ok(Err(rejection));
            }
            if let Err(rejection) =
                indexes::check_collection(view, &meta, old.as_ref(), Some(item))?
            {
                return Ok(Err(rejection));
            }
        }
        let new_size = new.as_ref().map(item_size).unwrap_or(0);
        let attributes = match write.return_values {
            ReturnValues::None => None,
            ReturnValues::AllOld => old.clone(),
            ReturnValues::AllNew => new.clone(),
            ReturnValues::UpdatedOld => old.as_ref().map(|o| expr::project(o, &targets)),
            ReturnValues::UpdatedNew => new.as_ref().map(|n| expr::project(n, &targets)),
        }
        .filter(|item| !item.is_empty());
        Ok(Ok(Prepared {
            meta,
            storage_key,
            old,
            new,
            unchanged,
            result: WriteResult {
                attributes,
                old_size,
                new_size,
            },
        }))
    }

    /// Writes a prepared write with a new local version.
    fn commit(
        &self,
        view: &mut ApplyView<'_>,
        prepared: Prepared,
        wall_ms: i64,
    ) -> Result<WriteResult, TableError> {
        if prepared.unchanged {
            return Ok(prepared.result);
        }
        let version = Version::new(tick(view, wall_ms)?, self.region.clone());
        write_state(
            view,
            &StateChange {
                meta: &prepared.meta,
                storage_key: &prepared.storage_key,
                keys: None,
                old: prepared.old.as_ref(),
                new: prepared.new.as_ref(),
                version: &version,
                wall_ms,
                by_service: false,
            },
        )?;
        Ok(prepared.result)
    }

    fn batch_write(
        &self,
        view: &mut ApplyView<'_>,
        writes: &[ItemWrite],
        wall_ms: i64,
    ) -> Result<Outcome, TableError> {
        let mut prepared = Vec::with_capacity(writes.len());
        for write in writes {
            match self.prepare(view, write)? {
                Ok(p) => prepared.push(p),
                Err(rejection) => return Ok(Outcome::Rejected(rejection)),
            }
        }
        let mut results = Vec::with_capacity(prepared.len());
        for p in prepared {
            results.push(Ok(self.commit(view, p, wall_ms)?));
        }
        Ok(Outcome::BatchWrite(results))
    }

    fn transact_write(
        &self,
        view: &mut ApplyView<'_>,
        transact: &TransactWrite,
        wall_ms: i64,
    ) -> Result<Outcome, TableError> {
        if let Some((token, digest)) = &transact.token {
            let token_key = token.as_bytes().to_vec();
            if let Some(bytes) = view.get(Space::Tokens, &token_key)? {
                let record: TokenRecord = decode_versioned(&bytes)?;
                if transact.now_ms - record.created_ms < TRANSACT_TOKEN_TTL_MS {
                    if record.digest != *digest {
                        return Ok(Outcome::Rejected(Rejection::IdempotentParameterMismatch(
                            "Request with ClientRequestToken already exists with different parameters".into(),
                        )));
                    }
                    return Outcome::decode(&record.outcome);
                }
            }
            let outcome = self.transact_actions(view, &transact.actions, wall_ms)?;
            let record = TokenRecord {
                digest: *digest,
                created_ms: transact.now_ms,
                outcome: outcome.encode()?,
            };
            view.put(Space::Tokens, token_key, encode_versioned(&record)?);
            view.put(
                Space::Tokens,
                expiry_key(transact.now_ms, token),
                Vec::new(),
            );
            forget_expired_tokens(view, transact.now_ms)?;
            return Ok(outcome);
        }
        self.transact_actions(view, &transact.actions, wall_ms)
    }

    fn transact_actions(
        &self,
        view: &mut ApplyView<'_>,
        actions: &[ItemWrite],
        wall_ms: i64,
    ) -> Result<Outcome, TableError> {
        let mut prepared = Vec::with_capacity(actions.len());
        let mut reasons = Vec::with_capacity(actions.len());
        let mut cancelled = false;
        for action in actions {
            match self.prepare(view, action)? {
                Ok(p) => {
                    prepared.push(p);
                    reasons.push(CancellationReason {
                        code: "None".into(),
                        message: None,
                        item: None,
                    });
                }
                Err(Rejection::ConditionalCheckFailed { item }) => {
                    cancelled = true;
                    reasons.push(CancellationReason {
                        code: "ConditionalCheckFailed".into(),
                        message: Some("The conditional request failed".into()),
                        item,
                    });
                }
                Err(Rejection::Validation(message)) => {
                    cancelled = true;
                    reasons.push(CancellationReason {
                        code: "ValidationError".into(),
                        message: Some(message),
                        item: None,
                    });
                }
                Err(Rejection::ItemCollectionSizeLimitExceeded(message)) => {
                    cancelled = true;
                    reasons.push(CancellationReason {
                        code: "ItemCollectionSizeLimitExceeded".into(),
                        message: Some(message),
                        item: None,
                    });
                }
                Err(other) => return Ok(Outcome::Rejected(other)),
            }
        }
        if cancelled {
            return Ok(Outcome::Rejected(Rejection::TransactionCanceled(reasons)));
        }
        let mut results = Vec::with_capacity(prepared.len());
        for p in prepared {
            results.push(self.commit(view, p, wall_ms)?);
        }
        Ok(Outcome::TransactWrite(results))
    }

    fn transact_get(
        &self,
        view: &mut ApplyView<'_>,
        gets: &[ItemGet],
    ) -> Result<Outcome, TableError> {
        let mut out = Vec::with_capacity(gets.len());
        for get in gets {
            let Some(meta) = view_table(view, &get.table)? else {
                return Ok(Outcome::Rejected(Rejection::ResourceNotFound(
                    "Requested resource not found".into(),
                )));
            };
            let key = match key_of_request(&meta.key_schema, &get.key) {
                Ok(key) => key,
                Err(rejection) => return Ok(Outcome::Rejected(rejection)),
            };
            let item = match view.get(Space::Items, &key.storage_key(&meta))? {
                Some(bytes) => Some(decode_item(&bytes)?),
                None => None,
            };
            let size = item.as_ref().map(item_size).unwrap_or(0);
            let item = match (&get.projection, item) {
                (Some(paths), Some(item)) => Some(expr::project(&item, paths)),
                (_, item) => item,
            };
            out.push((item, size));
        }
        Ok(Outcome::TransactGet(out))
    }
}

/// Key in [`Space::Meta`] of the region's hybrid logical clock.
pub(crate) const HLC_KEY: &[u8] = b"hlc";

fn load_hlc(view: &mut ApplyView<'_>) -> Result<Hlc, TableError> {
    let last = view
        .get(Space::Meta, HLC_KEY)?
        .and_then(|b| b.as_slice().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0);
    Ok(Hlc::at(Timestamp(last)))
}

fn store_hlc(view: &mut ApplyView<'_>, hlc: Hlc) {
    view.put(
        Space::Meta,
        HLC_KEY.to_vec(),
        hlc.last().0.to_be_bytes().to_vec(),
    );
}

/// A timestamp for a local write, from the region's clock kept in the state machine (so every
/// replica of the region computes the same one).
pub(crate) fn tick(view: &mut ApplyView<'_>, wall_ms: i64) -> Result<Timestamp, TableError> {
    let mut hlc = load_hlc(view)?;
    let t = hlc.tick(wall_ms);
    store_hlc(view, hlc);
    Ok(t)
}

/// Advances the region's clock past a remote version's timestamp.
pub(crate) fn observe(view: &mut ApplyView<'_>, remote: Timestamp) -> Result<(), TableError> {
    let mut hlc = load_hlc(view)?;
    if remote > hlc.last() {
        hlc.observe(remote);
        store_hlc(view, hlc);
    }
    Ok(())
}

/// One item going from `old` to `new` at `version`.
pub(crate) struct StateChange<'a> {
    pub(crate) meta: &'a TableMeta,
    pub(crate) storage_key: &'a [u8],
    /// The item's key attributes, when the caller has them; otherwise they are taken from the
    /// item, and only if a tombstone or change record needs them.
    pub(crate) keys: Option<&'a Item>,
    pub(crate) old: Option<&'a Item>,
    pub(crate) new: Option<&'a Item>,
    pub(crate) version: &'a Version,
    pub(crate) wall_ms: i64,
    pub(crate) by_service: bool,
}

/// Writes an item's new state (or its deletion) and everything that follows from it, in the
/// same write set: the item with its version, the tombstone of a global table's delete, index
/// entries, statistics and the change-log record.
pub(crate) fn write_state(
    view: &mut ApplyView<'_>,
    change: &StateChange<'_>,
) -> Result<(), TableError> {
    let meta = change.meta;
    let needs_keys = meta.records_changes() || (meta.is_global() && change.new.is_none());
    let derived: Item;
    let keys = match change.keys {
        Some(keys) => keys,
        None => {
            // An empty map does not allocate: no cost when nothing needs the keys.
            derived = change
                .new
                .or(change.old)
                .filter(|_| needs_keys)
                .map(|item| key_item(&meta.key_schema, item))
                .unwrap_or_default();
            &derived
        }
    };
    match change.new {
        Some(item) => {
            view.put(
                Space::Items,
                change.storage_key.to_vec(),
                encode_item(item, change.version)?,
            );
            if meta.is_global() {
                tombstone::remove(view, change.storage_key);
            }
        }
        None => {
            view.delete(Space::Items, change.storage_key.to_vec());
            if meta.is_global() {
                tombstone::put(view, change.storage_key, change.version, keys)?;
            }
        }
    }
    indexes::maintain(view, meta, change.old, change.new)?;
    crate::pitr::record(view, meta, change.storage_key, change.old, change.wall_ms)?;
    let old_size = change.old.map(item_size).unwrap_or(0) as i64;
    let new_size = change.new.map(item_size).unwrap_or(0) as i64;
    adjust_stats(
        view,
        meta,
        i64::from(change.new.is_some()) - i64::from(change.old.is_some()),
        new_size - old_size,
    )?;
    if meta.records_changes() {
        let record = ChangeRecordRef {
            seq: 0,
            keys,
            old: change.old,
            new: change.new,
            version: change.version,
            applied_ms: change.wall_ms,
            by_service: change.by_service,
        };
        changes::append(view, &meta.id, record)?;
    }
    Ok(())
}

/// Tokens are also filed under `\0exp/<created ms><token>`, so expired ones can be found in
/// creation order without scanning them all. (A client token that itself began with that
/// prefix would at worst have its idempotency window cut short.)
const TOKEN_EXPIRY_PREFIX: &[u8] = b"\0exp/";

fn expiry_key(created_ms: i64, token: &str) -> Vec<u8> {
    let mut key = TOKEN_EXPIRY_PREFIX.to_vec();
    key.extend_from_slice(&created_ms.max(0).to_be_bytes());
    key.extend_from_slice(token.as_bytes());
    key
}

/// How many expired tokens one transaction forgets at most: bounded work per apply.
const TOKENS_FORGOTTEN_PER_WRITE_MAX: usize = 16;

/// Deletes ClientRequestTokens older than their idempotency window, oldest first.
fn forget_expired_tokens(view: &mut ApplyView<'_>, now_ms: i64) -> Result<(), TableError> {
    let cutoff = expiry_key(now_ms - TRANSACT_TOKEN_TTL_MS, "");
    let expired = view.range(
        Space::Tokens,
        std::ops::Bound::Included(TOKEN_EXPIRY_PREFIX.to_vec()),
        std::ops::Bound::Excluded(cutoff),
        Some(TOKENS_FORGOTTEN_PER_WRITE_MAX),
    )?;
    for (key, _) in expired {
        if let Some(token) = key.get(TOKEN_EXPIRY_PREFIX.len() + 8..) {
            view.delete(Space::Tokens, token.to_vec());
        }
        view.delete(Space::Tokens, key);
    }
    Ok(())
}

/// The key attribute an update path would write, if any.
fn key_attribute_target(meta: &TableMeta, path: &Path) -> Option<String> {
    match path.elements().first() {
        Some(PathElement::Attribute(name)) if meta.key_schema.is_key_attribute(name) => {
            Some(name.clone())
        }
        _ => None,
    }
}
