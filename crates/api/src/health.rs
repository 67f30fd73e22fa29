//! The health check: `GET /_meridian/health` answers 200 with a JSON body when the node can
//! serve (Raft core running, a leader known, storage writable) and 503 with the same body
//! when it cannot; `GET /` says "healthy" only in the first case.

use serde::Serialize;

/// The health check's path on the API listener.
pub const HEALTH_PATH: &str = "/_meridian/health";

/// What a region reports about its ability to serve (see [`crate::Region::health`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// The Raft core runs (it stops for good on a storage error).
    pub raft_running: bool,
    /// The leader this node knows of.
    pub leader: Option<u64>,
    /// This node's role (`Leader`, `Follower`, …).
    pub role: String,
    /// The latest durable log flush succeeded.
    pub storage_writable: bool,
    /// Why the Raft core stopped, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Health {
    /// What a region that cannot tell reports: able to serve.
    pub fn assumed() -> Health {
        Health {
            raft_running: true,
            leader: Some(0),
            role: "Leader".into(),
            storage_writable: true,
            failure: None,
        }
    }

    /// Able to serve writes and consistent reads now.
    pub fn is_healthy(&self) -> bool {
        self.raft_running && self.leader.is_some() && self.storage_writable
    }

    /// The JSON body of the health check.
    pub(crate) fn body(&self, region: &str) -> Vec<u8> {
        #[derive(Serialize)]
        struct Body<'a> {
            status: &'static str,
            region: &'a str,
            #[serde(flatten)]
            health: &'a Health,
        }
        let status = if self.is_healthy() {
            "ok"
        } else {
            "unavailable"
        };
        serde_json::to_vec(&Body {
            status,
            region,
            health: self,
        })
        .unwrap_or_default()
    }
}
