//! Request-shape validation with DynamoDB's own wording: constraint violations are collected
//! and reported together ("2 validation errors detected: …; …"), as the service does.

use std::fmt::Display;

use model::limits::{TABLE_NAME_LEN_MAX, TABLE_NAME_LEN_MIN};

use crate::error::ApiError;

/// Constraint violations found in one request.
#[derive(Debug, Default)]
pub(crate) struct Violations(Vec<String>);

impl Violations {
    pub(crate) fn new() -> Self {
        Violations(Vec::new())
    }

    /// Records that `value` (already rendered: `'x'` or `null`) at `field` breaks `constraint`.
    pub(crate) fn push(&mut self, value: impl Display, field: &str, constraint: impl Display) {
        self.0.push(format!(
            "Value {value} at '{field}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Records a missing required member.
    pub(crate) fn null(&mut self, field: &str) {
        self.push("null", field, "Member must not be null");
    }

    /// Requires `value` to be present; returns it, or records it as null.
    pub(crate) fn required<'a, T>(&mut self, field: &str, value: &'a Option<T>) -> Option<&'a T> {
        if value.is_none() {
            self.null(field);
        }
        value.as_ref()
    }

    /// Checks a table name: required, pattern `[a-zA-Z0-9_.-]+`, 3 to 255 characters. A table
    /// ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>`) is accepted in its place, as
    /// DynamoDB accepts one wherever a TableName is asked for. Returns the table's name (the
    /// ARN's last part), or an empty name when the member is missing or invalid.
    pub(crate) fn table_name(&mut self, field: &str, name: Option<&str>) -> String {
        let Some(name) = name else {
            self.null(field);
            return String::new();
        };
        if let Some(resolved) = table_name_of_arn(name) {
            let before = self.0.len();
            check_table_name(self, field, resolved);
            if self.0.len() == before && name.len() <= TABLE_ARN_LEN_MAX {
                return resolved.to_owned();
            }
            self.0.truncate(before);
        }
        check_table_name(self, field, name);
        name.to_owned()
    }

    /// Checks a plain table name (no ARN): ListTables' ExclusiveStartTableName.
    pub(crate) fn plain_table_name(&mut self, field: &str, name: &str) {
        check_table_name(self, field, name);
    }

    /// Checks `value >= min` for a number member.
    pub(crate) fn at_least(&mut self, field: &str, value: i64, min: i64) {
        if value < min {
            self.push(
                format_args!("'{value}'"),
                field,
                format_args!("Member must have value greater than or equal to {min}"),
            );
        }
    }

    /// Checks `value <= max` for a number member.
    pub(crate) fn at_most(&mut self, field: &str, value: i64, max: i64) {
        if value > max {
            self.push(
                format_args!("'{value}'"),
                field,
                format_args!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// Checks the length of a string or list member against `min..=max`.
    pub(crate) fn length(
        &mut self,
        field: &str,
        shown: impl Display,
        len: usize,
        min: usize,
        max: usize,
    ) {
        if len < min {
            self.push(
                format_args!("'{shown}'"),
                field,
                format_args!("Member must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(
                format_args!("'{shown}'"),
                field,
                format_args!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A required list member of 1 to `max` entries: its entries, with a violation recorded
    /// when it is missing (then empty) or its length is out of bounds.
    pub(crate) fn required_list<T>(
        &mut self,
        field: &str,
        list: Option<Vec<T>>,
        max: usize,
    ) -> Vec<T> {
        match list {
            None => {
                self.null(field);
                Vec::new()
            }
            Some(list) => {
                self.length(
                    field,
                    format_args!("[{} items]", list.len()),
                    list.len(),
                    1,
                    max,
                );
                list
            }
        }
    }

    /// Parses an enum member against its allowed wire names, recording a violation if it is
    /// none of them. `shown_set` is the set as DynamoDB prints it.
    pub(crate) fn enumeration<T: Copy>(
        &mut self,
        field: &str,
        value: Option<&str>,
        allowed: &[(&str, T)],
        shown_set: &str,
    ) -> Option<T> {
        let value = value?;
        match allowed.iter().find(|(name, _)| *name == value) {
            Some((_, v)) => Some(*v),
            None => {
                self.push(
                    format_args!("'{value}'"),
                    field,
                    format_args!("Member must satisfy enum value set: [{shown_set}]"),
                );
                None
            }
        }
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was recorded, else one ValidationException listing every violation.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let n = self.0.len();
        let plural = if n == 1 { "" } else { "s" };
        Err(ApiError::Validation(format!(
            "{n} validation error{plural} detected: {}",
            self.0.join("; ")
        )))
    }
}

/// The longest TableName member DynamoDB accepts (a table ARN).
const TABLE_ARN_LEN_MAX: usize = 1024;

/// The table name inside a table ARN (`arn:<partition>:dynamodb:<region>:<account>:table/<name>`),
/// if `value` is one. The region and account are not checked: a single Meridian endpoint
/// serves one region of one account.
pub(crate) fn table_name_of_arn(value: &str) -> Option<&str> {
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("dynamodb"), Some(_region), Some(_account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if !partition.starts_with("aws") {
        return None;
    }
    let name = rest.strip_prefix("table/")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

fn check_table_name(v: &mut Violations, field: &str, name: &str) {
    let pattern_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !pattern_ok {
        v.push(
            format_args!("'{name}'"),
            field,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        );
    }
    v.length(
        field,
        name,
        name.chars().count(),
        TABLE_NAME_LEN_MIN,
        TABLE_NAME_LEN_MAX,
    );
}

/// Validates a required table name (or table ARN) on its own, for requests whose only member
/// it is; returns the table's name.
pub(crate) fn table_name(field: &str, name: Option<&str>) -> Result<String, ApiError> {
    let mut v = Violations::new();
    let name = v.table_name(field, name);
    v.finish()?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T: std::fmt::Debug>(r: Result<T, ApiError>) -> String {
        match r {
            Err(ApiError::Validation(m)) => m,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn t10_table_name_messages() {
        assert!(table_name("tableName", Some("Music.v1_a-b")).is_ok());
        assert_eq!(
            message(table_name("tableName", Some("x!y"))),
            "1 validation error detected: Value 'x!y' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        );
        assert_eq!(
            message(table_name("tableName", Some("a!"))),
            "2 validation errors detected: Value 'a!' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value 'a!' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"
        );
        assert_eq!(
            message(table_name("tableName", None)),
            "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"
        );
        let long = "a".repeat(256);
        assert!(message(table_name("tableName", Some(&long)))
            .ends_with("Member must have length less than or equal to 255"));
    }

    #[test]
    fn t10_table_arn_resolves_to_its_name() {
        assert_eq!(
            table_name(
                "tableName",
                Some("arn:aws:dynamodb:us-east-1:123456789012:table/Music")
            )
            .unwrap(),
            "Music"
        );
        assert_eq!(table_name("tableName", Some("Music")).unwrap(), "Music");
        for bad in [
            "arn:aws:dynamodb:us-east-1:123456789012:table/a!",
            "arn:aws:dynamodb:us-east-1:123456789012:table/Music/index/x",
            "arn:aws:s3:us-east-1:123456789012:table/Music",
            "arn:aws:dynamodb:us-east-1:123456789012:Music",
        ] {
            assert!(
                message(table_name("tableName", Some(bad)))
                    .contains("Member must satisfy regular expression pattern"),
                "{bad}"
            );
        }
    }

    #[test]
    fn t10_number_bounds() {
        let mut v = Violations::new();
        v.at_least("limit", 0, 1);
        assert_eq!(
            message(v.finish()),
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
    }

    #[test]
    fn t10_enumerations() {
        let mut v = Violations::new();
        let allowed = [("A", 1), ("B", 2)];
        assert_eq!(v.enumeration("f", Some("B"), &allowed, "A, B"), Some(2));
        assert_eq!(v.enumeration("f", None, &allowed, "A, B"), None);
        assert!(v.is_empty());
        assert_eq!(v.enumeration("f", Some("C"), &allowed, "A, B"), None);
        assert_eq!(
            message(v.finish()),
            "1 validation error detected: Value 'C' at 'f' failed to satisfy constraint: Member must satisfy enum value set: [A, B]"
        );
    }
}
