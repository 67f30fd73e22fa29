//! Secondary indexes: entries kept in [`storage::Space::Indexes`], maintained in the same
//! write set as the item they index.

use model::{Item, TableMeta};
use storage::ApplyView;

use crate::error::TableError;

/// Brings every index of `meta`'s table in line with an item changing from `old` to `new`
/// (None: absent). Not built yet: tables cannot have indexes so far.
pub(crate) fn maintain(
    _view: &mut ApplyView<'_>,
    _meta: &TableMeta,
    _old: Option<&Item>,
    _new: Option<&Item>,
) -> Result<(), TableError> {
    Ok(())
}
