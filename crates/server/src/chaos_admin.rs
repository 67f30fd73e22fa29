//! The chaos controls' admin endpoints, as each node's peer listener serves them
//! (`POST /ext/chaos/{add,list,clear}`, with the cluster secret) and as `meridian dev`'s lab
//! listener serves them (`POST /admin/chaos/{add,list,clear}` and `/admin/lab/{kill,restart}`),
//! and the client side `meridian chaos` uses.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use chaos::{AdminAnswer, AdminError, Chaos, Topology};

/// Peer-listener paths of the chaos controls (under raft's extension prefix).
pub const PEER_CHAOS_PREFIX: &str = "/ext/chaos/";
/// Lab-listener paths of the chaos controls in `meridian dev`.
pub const LAB_CHAOS_PREFIX: &str = "/admin/chaos/";
/// Lab-listener paths that stop and start nodes in `meridian dev`.
pub const LAB_NODES_PREFIX: &str = "/admin/lab/";
/// The largest admin request body.
pub const ADMIN_BODY_BYTES_MAX: usize = 64 * 1024;
/// Deadline of one admin call from `meridian chaos`.
pub const ADMIN_CALL_TIMEOUT_MS: u64 = 5_000;
/// The header that carries the cluster secret.
pub const SECRET_HEADER: &str = raft::CLUSTER_SECRET_HEADER;

/// Serves `add`, `list` or `clear` (the path's last part) against `chaos`, logging what
/// changed.
pub fn handle(
    chaos: &Chaos,
    topology: &Topology,
    action: &str,
    body: &[u8],
) -> Result<AdminAnswer, AdminError> {
    let answer = chaos::admin(chaos, topology, action, body)?;
    log_change(action, &answer);
    Ok(answer)
}

/// Logs an installed or cleared fault.
fn log_change(action: &str, answer: &AdminAnswer) {
    match (action, answer) {
        ("add", AdminAnswer::Faults(list)) => {
            for view in &list.faults {
                tracing::info!(id = %view.id, kind = %view.kind, duration = ?view.duration, "chaos fault installed");
            }
        }
        ("clear", AdminAnswer::Cleared { cleared }) => {
            tracing::info!(cleared, "chaos faults cleared");
        }
        _ => {}
    }
}

/// The DynamoDB operation names the API serves.
pub fn operation_names() -> BTreeSet<String> {
    api::Operation::ALL
        .iter()
        .map(|op| op.name().to_owned())
        .collect()
}

/// The tables of `store`.
pub fn table_names(store: &storage::Store) -> BTreeSet<String> {
    table::list_tables(store)
        .map(|names| names.into_iter().collect())
        .unwrap_or_default()
}

/// What one node of a separate-process deployment knows: its region's members and the
/// other regions by name.
pub fn node_topology(
    region: &str,
    members: impl IntoIterator<Item = u64>,
    remotes: impl IntoIterator<Item = String>,
    store: &storage::Store,
) -> Topology {
    let mut regions: BTreeMap<String, Option<BTreeSet<u64>>> =
        remotes.into_iter().map(|r| (r, None)).collect();
    regions.insert(region.to_owned(), Some(members.into_iter().collect()));
    Topology {
        regions,
        tables: table_names(store),
        operations: operation_names(),
    }
}

/// Why an admin call from the CLI failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The node refused the request (the answer's message says why).
    #[error("{0}")]
    Refused(AdminError),
    /// No answer.
    #[error("{addr}: {reason}")]
    Unreachable { addr: String, reason: String },
}

/// POSTs a JSON admin request to `http://{addr}{path}` and decodes the answer.
pub async fn call(
    addr: &str,
    path: &str,
    secret: Option<&str>,
    body: &impl serde::Serialize,
) -> Result<AdminAnswer, CallError> {
    let unreachable = |reason: String| CallError::Unreachable {
        addr: addr.to_owned(),
        reason,
    };
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let bytes = serde_json::to_vec(body).map_err(|e| unreachable(e.to_string()))?;
    let mut request = http::Request::post(format!("http://{addr}{path}"))
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(secret) = secret {
        request = request.header(SECRET_HEADER, secret);
    }
    let request = request
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| unreachable(e.to_string()))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), 16 * 1024 * 1024)
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| unreachable(format!("unreadable answer: {e}")));
        }
        let mut error: AdminError = serde_json::from_slice(&body).unwrap_or_else(|_| {
            AdminError::validation(String::from_utf8_lossy(&body).into_owned())
        });
        error.status = status.as_u16();
        Err(CallError::Refused(error))
    };
    match tokio::time::timeout(Duration::from_millis(ADMIN_CALL_TIMEOUT_MS), exchange).await {
        Ok(result) => result,
        Err(_) => Err(unreachable("no answer in time".into())),
    }
}
