//! The admin protocol of the chaos controls: JSON bodies on a node's peer listener
//! (`/admin/chaos/...`, with the cluster secret) and on `meridian dev`'s lab listener.

use serde::{Deserialize, Serialize};

use crate::fault::Fault;
use crate::state::{ChaosError, FaultView};

/// `POST /admin/chaos/add`: install a fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddFault {
    /// Chosen by the caller so that a fan-out installs one id everywhere; new if absent.
    #[serde(default)]
    pub id: Option<String>,
    /// ISO-8601 (`PT2M`); absent: until cleared.
    #[serde(default)]
    pub duration: Option<String>,
    pub fault: Fault,
}

/// `POST /admin/chaos/clear`: remove one fault, or all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearFaults {
    #[serde(default)]
    pub id: Option<String>,
}

/// The answer of `POST /admin/chaos/list` (and of `add`, with the one fault).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultList {
    pub faults: Vec<FaultView>,
}

/// `meridian dev` only: stop or start nodes of the lab (`POST /admin/lab/kill`, `/restart`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabAction {
    pub region: String,
    /// One node; absent: every node of the region.
    #[serde(default)]
    pub node: Option<u64>,
}

/// A successful admin answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AdminAnswer {
    /// The faults (added or listed).
    Faults(FaultList),
    /// How many faults were cleared.
    Cleared { cleared: usize },
    /// Which nodes a lab action touched.
    Nodes { nodes: Vec<String> },
}

/// A refused admin call, shaped like a DynamoDB error (`__type`, `message`, HTTP 400/404).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{type_name}: {message}")]
pub struct AdminError {
    /// HTTP status.
    #[serde(skip)]
    pub status: u16,
    #[serde(rename = "__type")]
    pub type_name: String,
    pub message: String,
}

impl AdminError {
    /// A 400 ValidationException.
    pub fn validation(message: impl Into<String>) -> AdminError {
        AdminError {
            status: 400,
            type_name: "com.amazonaws.dynamodb.v20120810#ValidationException".into(),
            message: message.into(),
        }
    }

    /// A 400 ResourceNotFoundException.
    pub fn not_found(message: impl Into<String>) -> AdminError {
        AdminError {
            status: 400,
            type_name: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException".into(),
            message: message.into(),
        }
    }

    /// A 404 for a path that does not exist.
    pub fn no_such_path(path: &str) -> AdminError {
        AdminError {
            status: 404,
            type_name: "UnknownOperationException".into(),
            message: format!("no admin endpoint {path}"),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl From<ChaosError> for AdminError {
    fn from(e: ChaosError) -> AdminError {
        match e {
            ChaosError::Invalid(m) if m.starts_with("Requested resource not found") => {
                AdminError::not_found(m)
            }
            ChaosError::NotFound(_) => AdminError::not_found(e.to_string()),
            other => AdminError::validation(other.to_string()),
        }
    }
}

/// Decodes an admin request body, or a ValidationException saying what is wrong with it.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AdminError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| AdminError::validation(format!("invalid request: {e}")))
}

/// One admin call, `add`, `list` or `clear` (the path's last part), with its JSON `body`,
/// against `chaos`; faults are validated against `topology`. Every listener that exposes the
/// controls (the peer listener, the dev lab's, the console's) answers through this.
pub fn handle(
    chaos: &crate::state::Chaos,
    topology: &crate::fault::Topology,
    action: &str,
    body: &[u8],
) -> Result<AdminAnswer, AdminError> {
    match action {
        "add" => {
            let request: AddFault = decode(body)?;
            let view = chaos.add(
                request.id,
                request.fault,
                request.duration.as_deref(),
                topology,
            )?;
            Ok(AdminAnswer::Faults(FaultList { faults: vec![view] }))
        }
        "list" => Ok(AdminAnswer::Faults(FaultList {
            faults: chaos.list(),
        })),
        "clear" => {
            let request: ClearFaults = decode(body)?;
            let cleared = chaos.clear(request.id.as_deref())?;
            Ok(AdminAnswer::Cleared { cleared })
        }
        other => Err(AdminError::no_such_path(other)),
    }
}
