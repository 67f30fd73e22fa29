//! Every operation of the `DynamoDB_20120810` target, named once.

/// Declares [`Operation`] with its wire names and whether Meridian serves it.
macro_rules! operations {
    ($($name:ident => $supported:expr,)*) => {
        /// One `DynamoDB_20120810` operation, as named by the `X-Amz-Target` header.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $name,
            )*
        }

        impl Operation {
            /// Every operation, in alphabetical order.
            pub const ALL: &'static [Operation] = &[$(Operation::$name,)*];

            /// The operation's wire name (`GetItem`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Operation::$name => stringify!($name),)*
                }
            }

            /// Looks up an operation by wire name; `None` for names DynamoDB does not have.
            pub fn from_name(name: &str) -> Option<Operation> {
                match name {
                    $(stringify!($name) => Some(Operation::$name),)*
                    _ => None,
                }
            }

            /// Whether Meridian implements the operation; the others are answered with a
            /// ValidationException that says so.
            pub fn is_supported(self) -> bool {
                match self {
                    $(Operation::$name => $supported,)*
                }
            }
        }
    };
}

operations! {
    BatchExecuteStatement => true,
    BatchGetItem => true,
    BatchWriteItem => true,
    CreateBackup => true,
    CreateGlobalTable => true,
    CreateTable => true,
    DeleteBackup => true,
    DeleteItem => true,
    DeleteResourcePolicy => false,
    DeleteTable => true,
    DescribeBackup => true,
    DescribeContinuousBackups => true,
    DescribeContributorInsights => false,
    DescribeEndpoints => true,
    DescribeExport => true,
    DescribeGlobalTable => true,
    DescribeGlobalTableSettings => false,
    DescribeImport => true,
    DescribeKinesisStreamingDestination => false,
    DescribeLimits => true,
    DescribeTable => true,
    DescribeTableReplicaAutoScaling => false,
    DescribeTimeToLive => true,
    DisableKinesisStreamingDestination => false,
    EnableKinesisStreamingDestination => false,
    ExecuteStatement => true,
    ExecuteTransaction => true,
    ExportTableToPointInTime => true,
    GetItem => true,
    GetResourcePolicy => false,
    ImportTable => true,
    ListBackups => true,
    ListContributorInsights => false,
    ListExports => true,
    ListGlobalTables => true,
    ListImports => true,
    ListTables => true,
    ListTagsOfResource => true,
    PutItem => true,
    PutResourcePolicy => false,
    Query => true,
    RestoreTableFromBackup => true,
    RestoreTableToPointInTime => true,
    Scan => true,
    TagResource => true,
    TransactGetItems => true,
    TransactWriteItems => true,
    UntagResource => true,
    UpdateContinuousBackups => true,
    UpdateContributorInsights => false,
    UpdateGlobalTable => true,
    UpdateGlobalTableSettings => false,
    UpdateItem => true,
    UpdateKinesisStreamingDestination => false,
    UpdateTable => true,
    UpdateTableReplicaAutoScaling => false,
    UpdateTimeToLive => true,
}

/// The `X-Amz-Target` prefix of every DynamoDB operation.
pub const TARGET_PREFIX: &str = "DynamoDB_20120810.";

impl Operation {
    /// Parses an `X-Amz-Target` header value (`DynamoDB_20120810.GetItem`).
    pub fn from_target(target: &str) -> Option<Operation> {
        Operation::from_name(target.strip_prefix(TARGET_PREFIX)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(*op));
            assert_eq!(
                Operation::from_target(&format!("DynamoDB_20120810.{}", op.name())),
                Some(*op)
            );
        }
        assert_eq!(Operation::ALL.len(), 57);
        assert!(Operation::ALL.windows(2).all(|w| w[0].name() < w[1].name()));
    }

    #[test]
    fn t10_unknown_targets() {
        assert_eq!(Operation::from_target("DynamoDB_20120810.Nope"), None);
        assert_eq!(Operation::from_target("GetItem"), None);
        assert_eq!(
            Operation::from_target("DynamoDBStreams_20120810.GetItem"),
            None
        );
    }
}
