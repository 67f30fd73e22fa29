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
use model::{Item, TableMeta};
use storage::{ApplyView, Space};

use crate::catalog::{adjust_stats, drop_table, put_table, view_table};
use crate::command::{
    decode_versioned, encode_versioned, Command, ItemGet, ItemWrite, Outcome, ReturnValues,
    TableUpdate, TransactWrite, WriteKind, WriteResult,
};
use crate::error::{CancellationReason, Rejection, TableError};
use crate::key::{decode_item, encode_item, key_of_item, key_of_request};

/// Applies commands to one replica's state. Stateless: everything it needs is in the command
/// and the view.
#[derive(Debug, Default, Clone, Copy)]
pub struct Engine;

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
    /// Applies one encoded command and returns the encoded outcome. An `Err` is a failure of
    /// storage or encoding (fatal for the node); rejections are part of the outcome.
    pub fn apply_payload(
        &self,
        view: &mut ApplyView<'_>,
        payload: &[u8],
    ) -> Result<Vec<u8>, TableError> {
        let command = Command::decode(payload)?;
        let outcome = self.apply(view, &command)?;
        outcome.encode()
    }

    /// Applies one command.
    pub fn apply(
        &self,
        view: &mut ApplyView<'_>,
        command: &Command,
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
                Ok(prepared) => Outcome::Write(self.commit(view, prepared)?),
                Err(rejection) => Outcome::Rejected(rejection),
            },
            Command::BatchWrite(writes) => self.batch_write(view, writes)?,
            Command::TransactWrite(transact) => self.transact_write(view, transact)?,
            Command::TransactGet(gets) => self.transact_get(view, gets)?,
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
        put_table(view, meta)?;
        Ok(Outcome::Table(meta.clone()))
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

    /// Writes a prepared write and keeps the table's statistics.
    fn commit(
        &self,
        view: &mut ApplyView<'_>,
        prepared: Prepared,
    ) -> Result<WriteResult, TableError> {
        if prepared.unchanged {
            return Ok(prepared.result);
        }
        let old_count = i64::from(prepared.old.is_some());
        let new_count = i64::from(prepared.new.is_some());
        match &prepared.new {
            Some(item) => view.put(
                Space::Items,
                prepared.storage_key.clone(),
                encode_item(item)?,
            ),
            None => view.delete(Space::Items, prepared.storage_key.clone()),
        }
        adjust_stats(
            view,
            &prepared.meta,
            new_count - old_count,
            prepared.result.new_size as i64 - prepared.result.old_size as i64,
        )?;
        Ok(prepared.result)
    }

    fn batch_write(
        &self,
        view: &mut ApplyView<'_>,
        writes: &[ItemWrite],
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
            results.push(Ok(self.commit(view, p)?));
        }
        Ok(Outcome::BatchWrite(results))
    }

    fn transact_write(
        &self,
        view: &mut ApplyView<'_>,
        transact: &TransactWrite,
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
            let outcome = self.transact_actions(view, &transact.actions)?;
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
        self.transact_actions(view, &transact.actions)
    }

    fn transact_actions(
        &self,
        view: &mut ApplyView<'_>,
        actions: &[ItemWrite],
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
                Err(other) => return Ok(Outcome::Rejected(other)),
            }
        }
        if cancelled {
            return Ok(Outcome::Rejected(Rejection::TransactionCanceled(reasons)));
        }
        let mut results = Vec::with_capacity(prepared.len());
        for p in prepared {
            results.push(self.commit(view, p)?);
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
