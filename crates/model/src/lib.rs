//! Meridian's domain model: attribute values and exact numbers, items and their sizes, key
//! schemas, table metadata, every limit as a named constant, and the [`Clock`] through which
//! time enters.
//!
//! This crate is pure: no I/O, no async, and it must not depend on any other Meridian crate,
//! nor on sled, openraft or hyper.

pub mod clock;
pub mod key;
pub mod limits;
pub mod number;
pub mod size;
pub mod table;
pub mod value;
pub mod version;

pub use clock::{Clock, SystemClock};
pub use key::{KeyAttribute, KeySchema, ScalarType};
pub use number::{Number, NumberError};
pub use table::{
    BillingMode, IndexMeta, IndexStatus, ProjectionType, ProvisionedThroughput, Replica,
    ReplicaStatus, StreamSpec, StreamViewType, TableMeta, TableStatus, TtlSpec,
};
pub use value::{
    check_attribute_name, item_from_json, nesting_depth, AttributeValue, Item, ValueError,
    ValueErrorKind, WireItem, WireValue, NESTING_DEPTH_MESSAGE,
};
pub use version::{lww, Hlc, Timestamp, Version};
