//! ReturnConsumedCapacity: capacity units computed as DynamoDB computes them (reads round each
//! item up to 4 KB and halve when eventually consistent, writes round up to 1 KB of the larger
//! of the old and new item, transactions cost double) and rendered per table.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::validate::Violations;

/// What ReturnConsumedCapacity asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CapacityMode {
    /// `NONE` (the default): no ConsumedCapacity in the response.
    #[default]
    None,
    /// `TOTAL`: the table's total.
    Total,
    /// `INDEXES`: the total plus the per-table (and per-index) breakdown.
    Indexes,
}

impl CapacityMode {
    /// Parses ReturnConsumedCapacity.
    pub(crate) fn parse(v: &mut Violations, value: Option<&str>) -> CapacityMode {
        v.enumeration(
            "returnConsumedCapacity",
            value,
            &[
                ("INDEXES", CapacityMode::Indexes),
                ("TOTAL", CapacityMode::Total),
                ("NONE", CapacityMode::None),
            ],
            "INDEXES, TOTAL, NONE",
        )
        .unwrap_or_default()
    }

    /// Whether the response carries ConsumedCapacity.
    pub fn wanted(self) -> bool {
        self != CapacityMode::None
    }

    /// Whether to compute the units: the response shows them, or the metrics count them.
    pub(crate) fn computed(self) -> bool {
        self.wanted() || METER.try_with(|_| ()).is_ok()
    }

    /// Computes the units (when [`CapacityMode::computed`]), counts them for the metrics, and
    /// returns them when the response shows them.
    pub(crate) fn report(self, consumed: impl FnOnce() -> Consumed) -> Option<Consumed> {
        if !self.computed() {
            return None;
        }
        let consumed = consumed();
        meter(&consumed);
        self.wanted().then_some(consumed)
    }

    /// [`CapacityMode::report`] for units kept per table.
    pub(crate) fn report_all(self, consumed: PerTable) -> Option<Vec<Consumed>> {
        consumed.0.iter().for_each(meter);
        self.wanted().then(|| consumed.into_vec())
    }
}

tokio::task_local! {
    /// Read and write units the request being answered consumed, for the metrics.
    static METER: std::cell::Cell<(f64, f64)>;
}

fn meter(consumed: &Consumed) {
    let _ = METER.try_with(|m| {
        let (read, write) = m.get();
        m.set((read + consumed.read, write + consumed.write));
    });
}

/// Runs `answer` (one request) and returns its output with the read and write units it
/// consumed, whether or not its response shows them.
pub(crate) async fn metered<T>(answer: impl std::future::Future<Output = T>) -> (T, f64, f64) {
    METER
        .scope(std::cell::Cell::new((0.0, 0.0)), async move {
            let out = answer.await;
            let (read, write) = METER.with(std::cell::Cell::get);
            (out, read, write)
        })
        .await
}

/// Units consumed on one table by one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumed {
    /// The table's name.
    pub table: String,
    /// Read capacity units.
    pub read: f64,
    /// Write capacity units.
    pub write: f64,
    /// How to render it.
    pub mode: CapacityMode,
    /// The secondary index a Query or Scan read instead of the table (name, whether global):
    /// INDEXES attributes the units to it.
    pub index: Option<(String, bool)>,
}

impl Consumed {
    /// Nothing consumed yet on `table`.
    pub fn new(table: &str, mode: CapacityMode) -> Consumed {
        Consumed {
            table: table.to_owned(),
            read: 0.0,
            write: 0.0,
            mode,
            index: None,
        }
    }

    /// Attributes the units to a secondary index (`global`: a GSI, else an LSI).
    pub fn on_index(mut self, name: &str, global: bool) -> Consumed {
        self.index = Some((name.to_owned(), global));
        self
    }

    /// A read of `bytes` (one item; an empty read still costs the minimum unit).
    pub fn read_item(mut self, bytes: usize, consistent: bool) -> Consumed {
        self.read += model::size::read_units(bytes, consistent);
        self
    }

    /// A write whose item was `old` bytes before and is `new` bytes after.
    pub fn write_item(mut self, old: usize, new: usize) -> Consumed {
        self.write += model::size::write_units(old.max(new));
        self
    }

    /// Doubles the units, as transactions cost.
    pub fn transactional(mut self) -> Consumed {
        self.read *= 2.0;
        self.write *= 2.0;
        self
    }
}

/// Accumulates [`Consumed`] per table in first-seen order (BatchGetItem, transactions).
#[derive(Debug, Default)]
pub(crate) struct PerTable(Vec<Consumed>);

impl PerTable {
    pub(crate) fn entry(&mut self, table: &str, mode: CapacityMode) -> &mut Consumed {
        let index = match self.0.iter().position(|c| c.table == table) {
            Some(i) => i,
            None => {
                self.0.push(Consumed::new(table, mode));
                self.0.len() - 1
            }
        };
        &mut self.0[index]
    }

    pub(crate) fn into_vec(self) -> Vec<Consumed> {
        self.0
    }
}

impl Consumed {
    /// Adds a read in place.
    pub(crate) fn add_read(&mut self, bytes: usize, consistent: bool, transactional: bool) {
        let factor = if transactional { 2.0 } else { 1.0 };
        self.read += factor * model::size::read_units(bytes, consistent);
    }

    /// Adds a write in place.
    pub(crate) fn add_write(&mut self, old: usize, new: usize, transactional: bool) {
        let factor = if transactional { 2.0 } else { 1.0 };
        self.write += factor * model::size::write_units(old.max(new));
    }
}

struct Units {
    read: f64,
    write: f64,
}

impl Serialize for Units {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("CapacityUnits", &(self.read + self.write))?;
        if self.read > 0.0 {
            map.serialize_entry("ReadCapacityUnits", &self.read)?;
        }
        if self.write > 0.0 {
            map.serialize_entry("WriteCapacityUnits", &self.write)?;
        }
        map.end()
    }
}

impl Serialize for Consumed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("TableName", &self.table)?;
        map.serialize_entry("CapacityUnits", &(self.read + self.write))?;
        if self.mode == CapacityMode::Indexes {
            if self.read > 0.0 {
                map.serialize_entry("ReadCapacityUnits", &self.read)?;
            }
            if self.write > 0.0 {
                map.serialize_entry("WriteCapacityUnits", &self.write)?;
            }
            match &self.index {
                None => map.serialize_entry(
                    "Table",
                    &Units {
                        read: self.read,
                        write: self.write,
                    },
                )?,
                Some((name, global)) => {
                    map.serialize_entry(
                        "Table",
                        &Units {
                            read: 0.0,
                            write: 0.0,
                        },
                    )?;
                    let member = if *global {
                        "GlobalSecondaryIndexes"
                    } else {
                        "LocalSecondaryIndexes"
                    };
                    let units = Units {
                        read: self.read,
                        write: self.write,
                    };
                    map.serialize_entry(
                        member,
                        &std::collections::BTreeMap::from([(name, units)]),
                    )?;
                }
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn t10_units() {
        let c = Consumed::new("t", CapacityMode::Total).read_item(5000, false);
        assert_eq!(c.read, 1.0);
        let c = Consumed::new("t", CapacityMode::Total).read_item(0, true);
        assert_eq!(c.read, 1.0);
        let c = Consumed::new("t", CapacityMode::Total)
            .write_item(3000, 100)
            .transactional();
        assert_eq!(c.write, 6.0);
    }

    #[test]
    fn t10_shapes() {
        let total = Consumed::new("t", CapacityMode::Total).read_item(10, false);
        assert_eq!(
            serde_json::to_value(&total).unwrap(),
            json!({"TableName": "t", "CapacityUnits": 0.5})
        );
        let indexes = Consumed::new("t", CapacityMode::Indexes).write_item(0, 10);
        assert_eq!(
            serde_json::to_value(&indexes).unwrap(),
            json!({"TableName": "t", "CapacityUnits": 1.0, "WriteCapacityUnits": 1.0,
                   "Table": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}})
        );
        let on_index = Consumed::new("t", CapacityMode::Indexes)
            .on_index("by_x", true)
            .read_item(10, true);
        assert_eq!(
            serde_json::to_value(&on_index).unwrap(),
            json!({"TableName": "t", "CapacityUnits": 1.0, "ReadCapacityUnits": 1.0,
                   "Table": {"CapacityUnits": 0.0},
                   "GlobalSecondaryIndexes": {"by_x": {"CapacityUnits": 1.0, "ReadCapacityUnits": 1.0}}})
        );
    }
}
