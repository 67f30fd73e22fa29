//! What the API server tells the metrics about each request it answers: the operation, the
//! table it named, the error's `__type`, the time taken and the capacity consumed.

use serde::Deserialize;

/// Set on a response answered with an error: the short `__type` (`ValidationException`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorCode(pub(crate) &'static str);

/// Set on a response that ran an operation: the table it named and the units it consumed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Metered {
    pub(crate) table: String,
    pub(crate) read: f64,
    pub(crate) write: f64,
}

/// The table a request body names (`TableName`, a name or an ARN), for the metrics' `table`
/// label; empty when it names none (ListTables) or several (BatchGetItem, transactions).
pub(crate) fn table_label(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Named<'a> {
        #[serde(rename = "TableName", borrow, default)]
        table: Option<std::borrow::Cow<'a, str>>,
    }
    let Ok(named) = serde_json::from_slice::<Named<'_>>(body) else {
        return String::new();
    };
    let Some(table) = named.table else {
        return String::new();
    };
    // arn:aws:dynamodb:us-east-1:000000000000:table/Name
    match table.split_once(":table/") {
        Some((_, name)) if table.starts_with("arn:") => name.to_owned(),
        _ => table.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_the_table_label_is_the_name_whatever_form_it_was_given_in() {
        assert_eq!(table_label(br#"{"TableName":"Music","Item":{}}"#), "Music");
        assert_eq!(
            table_label(br#"{"TableName":"arn:aws:dynamodb:us-east-1:000000000000:table/Music"}"#),
            "Music"
        );
        assert_eq!(table_label(br#"{"RequestItems":{"a":[]}}"#), "");
        assert_eq!(table_label(b"not json"), "");
    }
}
