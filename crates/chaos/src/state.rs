//! The active faults of a node (or of every node of a `meridian dev` process) and the
//! questions the layers ask them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::duration::{format_iso8601, parse_iso8601};
use crate::fault::{Direction, Fault, FaultKind, InjectedError, Topology};
use crate::metrics::Metrics;

/// The most faults active at once (each query walks them all).
pub const ACTIVE_FAULTS_MAX: usize = 256;
/// The longest id a caller may choose for a fault.
pub const FAULT_ID_BYTES_MAX: usize = 64;

/// Why a fault was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChaosError {
    /// The fault names something that does not exist, or a value out of range.
    #[error("{0}")]
    Invalid(String),
    /// No fault with that id.
    #[error("no active fault has the id {0:?}")]
    NotFound(String),
    /// Too many faults at once.
    #[error("at most {ACTIVE_FAULTS_MAX} faults may be active at once")]
    TooMany,
}

/// What happens to one message on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEffect {
    /// It goes through.
    Open,
    /// It is refused: the link is cut by fault `fault`.
    Cut { fault: String },
    /// It waits `delay_ms`, then goes through, or is lost if `dropped`.
    Delayed { delay_ms: u64, dropped: bool },
}

/// What an injected API fault does to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFault {
    /// The fault's id (for the response header).
    pub fault: String,
    /// Answer with this error (after the delay); `None`: answer normally after the delay.
    pub error: Option<InjectedError>,
    /// Wait this long before answering.
    pub delay_ms: u64,
}

/// One active fault as `meridian chaos list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultView {
    pub id: String,
    pub kind: String,
    pub fault: Fault,
    /// The duration it was installed for (ISO-8601), if any.
    #[serde(default)]
    pub duration: Option<String>,
    /// Time left before it heals itself, ms.
    #[serde(default)]
    pub remaining_ms: Option<u64>,
    /// How many times it has acted on a request, a message or a shipping round.
    pub fired: u64,
}

#[derive(Debug)]
struct Active {
    id: String,
    fault: Fault,
    duration_ms: Option<u64>,
    expires: Option<Instant>,
    fired: u64,
    /// Firings left, for injected errors with a count.
    remaining: Option<u64>,
}

impl Active {
    fn view(&self, now: Instant) -> FaultView {
        FaultView {
            id: self.id.clone(),
            kind: self.fault.kind().name().to_owned(),
            fault: self.fault.clone(),
            duration: self.duration_ms.map(format_iso8601),
            remaining_ms: self
                .expires
                .map(|e| e.saturating_duration_since(now).as_millis() as u64),
            fired: self.fired,
        }
    }
}

/// The chaos state. Cheap to query when no fault is active (one atomic load).
#[derive(Debug, Default)]
pub struct Chaos {
    count: AtomicUsize,
    faults: Mutex<Vec<Active>>,
    pub(crate) metrics: Metrics,
}

impl Chaos {
    /// No faults.
    pub fn new() -> Arc<Chaos> {
        Arc::new(Chaos::default())
    }

    /// Whether no fault is active (one atomic load: the hot paths' fast check).
    pub fn is_quiet(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Installs a fault for `duration` (ISO-8601; none: until cleared) under `id` (none: a
    /// new one). Installing an id that is already active replaces that fault, so a CLI that
    /// retries a fan-out does not double it.
    pub fn add(
        &self,
        id: Option<String>,
        mut fault: Fault,
        duration: Option<&str>,
        topology: &Topology,
    ) -> Result<FaultView, ChaosError> {
        fault.normalize();
        fault.validate(topology).map_err(ChaosError::Invalid)?;
        let duration_ms = duration
            .map(parse_iso8601)
            .transpose()
            .map_err(ChaosError::Invalid)?;
        let id = match id {
            Some(id) => {
                let valid = !id.is_empty()
                    && id.len() <= FAULT_ID_BYTES_MAX
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid {
                    return Err(ChaosError::Invalid(format!(
                        "a fault id is 1 to {FAULT_ID_BYTES_MAX} letters, digits, '-' or '_'"
                    )));
                }
                id
            }
            None => uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
        };
        let now = Instant::now();
        let remaining = match &fault {
            Fault::InjectError { count, .. } => *count,
            _ => None,
        };
        let active = Active {
            id: id.clone(),
            fault,
            duration_ms,
            expires: duration_ms.map(|ms| now + Duration::from_millis(ms)),
            fired: 0,
            remaining,
        };
        let view = active.view(now);
        let mut faults = self.lock();
        prune(&mut faults, now);
        faults.retain(|f| f.id != id);
        if faults.len() >= ACTIVE_FAULTS_MAX {
            return Err(ChaosError::TooMany);
        }
        faults.push(active);
        self.count.store(faults.len(), Ordering::Release);
        Ok(view)
    }

    /// Removes the fault `id`, or every fault; returns how many were removed.
    pub fn clear(&self, id: Option<&str>) -> Result<usize, ChaosError> {
        let mut faults = self.lock();
        prune(&mut faults, Instant::now());
        let before = faults.len();
        match id {
            Some(id) => faults.retain(|f| f.id != id),
            None => faults.clear(),
        }
        let removed = before - faults.len();
        self.count.store(faults.len(), Ordering::Release);
        match id {
            Some(id) if removed == 0 => Err(ChaosError::NotFound(id.to_owned())),
            _ => Ok(removed),
        }
    }

    /// The active faults, oldest first.
    pub fn list(&self) -> Vec<FaultView> {
        if self.count.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let now = Instant::now();
        let faults = self.live(now);
        faults.iter().map(|f| f.view(now)).collect()
    }

    /// Whether replication of `table` from `source` to `destination` is paused now.
    pub fn replication_paused(&self, table: &str, source: &str, destination: &str) -> bool {
        self.find(|fault| match fault {
            Fault::PauseReplication {
                table: t,
                source: s,
                destination: d,
            } => {
                t == table
                    && s.as_deref().is_none_or(|s| s == source)
                    && d.as_deref().is_none_or(|d| d == destination)
            }
            _ => false,
        })
        .is_some()
    }

    /// What happens to a cross-region call from `source` to `destination` now.
    pub fn region_link(&self, source: &str, destination: &str) -> LinkEffect {
        if self.count.load(Ordering::Acquire) == 0 {
            return LinkEffect::Open;
        }
        let mut faults = self.live(Instant::now());
        let mut delay_ms = 0;
        let mut dropped = false;
        let mut delayed = false;
        for active in faults.iter_mut() {
            match &active.fault {
                Fault::PartitionRegion { region, direction } => {
                    let cut = match direction {
                        Direction::Both => region == source || region == destination,
                        Direction::Outbound => region == source,
                        Direction::Inbound => region == destination,
                    };
                    if cut {
                        active.fired += 1;
                        self.metrics.fired(FaultKind::PartitionRegion);
                        return LinkEffect::Cut {
                            fault: active.id.clone(),
                        };
                    }
                }
                Fault::LinkDelay {
                    source: s,
                    destination: d,
                    latency_ms,
                    jitter_ms,
                    drop_probability,
                } => {
                    let matches = s.as_deref().is_none_or(|s| s == source)
                        && d.as_deref().is_none_or(|d| d == destination);
                    if matches {
                        active.fired += 1;
                        self.metrics.fired(FaultKind::LinkDelay);
                        delayed = true;
                        let jitter = if *jitter_ms > 0 {
                            fastrand::u64(0..=*jitter_ms)
                        } else {
                            0
                        };
                        delay_ms += latency_ms + jitter;
                        dropped |= *drop_probability > 0.0 && fastrand::f64() < *drop_probability;
                    }
                }
                _ => {}
            }
        }
        if delayed {
            LinkEffect::Delayed { delay_ms, dropped }
        } else {
            LinkEffect::Open
        }
    }

    /// Whether node `from` of `region` may send to node `to` of the same region now.
    pub fn node_link(&self, region: &str, from: u64, to: u64) -> LinkEffect {
        let found = self.find(|fault| match fault {
            Fault::PartitionNode { region: r, node } => {
                r == region && (*node == from || *node == to)
            }
            _ => false,
        });
        match found {
            Some(fault) => LinkEffect::Cut { fault },
            None => LinkEffect::Open,
        }
    }

    /// The skew of the clock of node `node` in `region`, ms (the sum of the region's and the
    /// node's skews).
    pub fn clock_offset_ms(&self, region: &str, node: u64) -> i64 {
        if self.count.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let faults = self.live(Instant::now());
        faults
            .iter()
            .map(|active| match &active.fault {
                Fault::ClockSkew {
                    region: r,
                    node: n,
                    offset_ms,
                } if r == region && n.is_none_or(|n| n == node) => *offset_ms,
                _ => 0,
            })
            .sum()
    }

    /// Whether an API request for `operation` on `table` meets an injected fault now. A
    /// fault with a count is spent (and removed) after its last firing.
    pub fn api_fault(&self, operation: &str, table: Option<&str>) -> Option<ApiFault> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut faults = self.lock();
        prune(&mut faults, Instant::now());
        let mut hit = None;
        for (index, active) in faults.iter_mut().enumerate() {
            let Fault::InjectError {
                operation: op,
                table: t,
                error,
                rate,
                delay_ms,
                ..
            } = &active.fault
            else {
                continue;
            };
            let matches = op.as_deref().is_none_or(|op| op == operation)
                && t.as_deref().is_none_or(|t| Some(t) == table);
            if !matches || rate.is_some_and(|rate| fastrand::f64() >= rate) {
                continue;
            }
            active.fired += 1;
            self.metrics.fired(FaultKind::InjectError);
            let spent = match &mut active.remaining {
                Some(left) => {
                    *left = left.saturating_sub(1);
                    *left == 0
                }
                None => false,
            };
            hit = Some((
                index,
                spent,
                ApiFault {
                    fault: active.id.clone(),
                    error: *error,
                    delay_ms: *delay_ms,
                },
            ));
            break;
        }
        let (index, spent, fault) = hit?;
        if spent {
            faults.remove(index);
        }
        self.count.store(faults.len(), Ordering::Release);
        Some(fault)
    }

    /// `key=value` lines for a status page: one per active fault.
    pub fn status(&self) -> String {
        let mut out = String::new();
        for view in self.list() {
            let detail = serde_json::to_string(&view.fault).unwrap_or_default();
            let remaining = view
                .remaining_ms
                .map_or_else(|| "until-cleared".to_owned(), format_iso8601);
            out.push_str(&format!(
                "chaos id={} kind={} remaining={remaining} fired={} fault={detail}\n",
                view.id, view.kind, view.fired
            ));
        }
        out
    }

    /// Adds this state's families (active faults and firings per kind) to the process's
    /// metrics, until the returned registration is dropped.
    pub fn register_metrics(
        self: &Arc<Self>,
        registry: &metrics::Metrics,
    ) -> Result<metrics::Registration, metrics::MetricsError> {
        registry.register(crate::metrics::collector(Arc::downgrade(self))?)
    }

    /// Counts a shipping round skipped by a replication pause.
    pub fn note_paused_round(&self) {
        self.metrics.fired(FaultKind::PauseReplication);
        self.bump(|f| matches!(f, Fault::PauseReplication { .. }));
    }

    fn bump(&self, pick: impl Fn(&Fault) -> bool) {
        let mut faults = self.lock();
        if let Some(active) = faults.iter_mut().find(|a| pick(&a.fault)) {
            active.fired += 1;
        }
    }

    /// The id of the first active fault `pick` selects, counting a firing.
    fn find(&self, pick: impl Fn(&Fault) -> bool) -> Option<String> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut faults = self.live(Instant::now());
        let active = faults.iter_mut().find(|a| pick(&a.fault))?;
        if !matches!(active.fault, Fault::PauseReplication { .. }) {
            active.fired += 1;
            self.metrics.fired(active.fault.kind());
        }
        Some(active.id.clone())
    }

    /// The faults still active at `now` (expired ones dropped, the count published).
    fn live(&self, now: Instant) -> std::sync::MutexGuard<'_, Vec<Active>> {
        let mut faults = self.lock();
        prune(&mut faults, now);
        self.count.store(faults.len(), Ordering::Release);
        faults
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Active>> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Drops the faults that have expired.
fn prune(faults: &mut Vec<Active>, now: Instant) {
    faults.retain(|f| f.expires.is_none_or(|e| e > now));
}

/// The chaos state as one node sees it: the shared state and the node's identity.
#[derive(Debug, Clone)]
pub struct NodeChaos {
    pub chaos: Arc<Chaos>,
    pub region: String,
    pub node: u64,
}

impl NodeChaos {
    /// A node's view of `chaos`.
    pub fn new(chaos: Arc<Chaos>, region: impl Into<String>, node: u64) -> NodeChaos {
        NodeChaos {
            chaos,
            region: region.into(),
            node,
        }
    }

    /// A node with a chaos state of its own and no faults.
    pub fn quiet(region: impl Into<String>, node: u64) -> NodeChaos {
        NodeChaos::new(Chaos::new(), region, node)
    }

    /// What happens to a Raft or forwarding message from this node to `peer` of its region.
    pub fn to_peer(&self, peer: u64) -> LinkEffect {
        self.chaos.node_link(&self.region, self.node, peer)
    }

    /// What happens to a cross-region call from this region to `destination`.
    pub fn to_region(&self, destination: &str) -> LinkEffect {
        self.chaos.region_link(&self.region, destination)
    }

    /// This node's clock skew, ms.
    pub fn clock_offset_ms(&self) -> i64 {
        self.chaos.clock_offset_ms(&self.region, self.node)
    }
}

impl PartialEq for NodeChaos {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chaos, &other.chaos)
            && self.region == other.region
            && self.node == other.node
    }
}

impl Eq for NodeChaos {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn topology() -> Topology {
        let mut regions = BTreeMap::new();
        for r in ["a", "b", "c"] {
            regions.insert(r.to_owned(), Some([1, 2, 3].into()));
        }
        Topology {
            regions,
            tables: ["t".to_owned(), "u".to_owned()].into(),
            operations: ["PutItem".to_owned(), "GetItem".to_owned()].into(),
        }
    }

    fn add(chaos: &Chaos, json: &str, duration: Option<&str>) -> String {
        let fault: Fault = serde_json::from_str(json).expect(json);
        chaos
            .add(None, fault, duration, &topology())
            .expect(json)
            .id
    }

    #[test]
    fn t10_pause_replication_matches_table_and_direction() {
        let chaos = Chaos::new();
        assert!(!chaos.replication_paused("t", "a", "b"));
        let id = add(
            &chaos,
            r#"{"kind":"pause-replication","table":"t","source":"a"}"#,
            None,
        );
        assert!(chaos.replication_paused("t", "a", "b"));
        assert!(chaos.replication_paused("t", "a", "c"));
        assert!(!chaos.replication_paused("t", "b", "a"));
        assert!(!chaos.replication_paused("u", "a", "b"));
        assert_eq!(chaos.clear(Some(&id)), Ok(1));
        assert!(!chaos.replication_paused("t", "a", "b"));
        assert_eq!(chaos.clear(Some(&id)), Err(ChaosError::NotFound(id)));
    }

    #[test]
    fn t10_region_partitions_cut_the_right_directions() {
        let chaos = Chaos::new();
        add(
            &chaos,
            r#"{"kind":"partition-region","region":"a","direction":"outbound"}"#,
            None,
        );
        assert!(matches!(
            chaos.region_link("a", "b"),
            LinkEffect::Cut { .. }
        ));
        assert_eq!(chaos.region_link("b", "a"), LinkEffect::Open);
        assert_eq!(chaos.region_link("b", "c"), LinkEffect::Open);
        chaos.clear(None).expect("clear");
        add(&chaos, r#"{"kind":"partition-region","region":"a"}"#, None);
        assert!(matches!(
            chaos.region_link("a", "b"),
            LinkEffect::Cut { .. }
        ));
        assert!(matches!(
            chaos.region_link("c", "a"),
            LinkEffect::Cut { .. }
        ));
        assert_eq!(chaos.region_link("b", "c"), LinkEffect::Open);
    }

    #[test]
    fn t10_node_partitions_cut_both_ways_inside_the_region() {
        let chaos = Chaos::new();
        add(
            &chaos,
            r#"{"kind":"partition-node","region":"a","node":2}"#,
            None,
        );
        let n1 = NodeChaos::new(chaos.clone(), "a", 1);
        let n2 = NodeChaos::new(chaos.clone(), "a", 2);
        let b1 = NodeChaos::new(chaos.clone(), "b", 1);
        assert!(matches!(n1.to_peer(2), LinkEffect::Cut { .. }));
        assert!(matches!(n2.to_peer(1), LinkEffect::Cut { .. }));
        assert_eq!(n1.to_peer(3), LinkEffect::Open);
        assert_eq!(b1.to_peer(2), LinkEffect::Open);
    }

    #[test]
    fn t10_link_delay_adds_latency_and_drops() {
        let chaos = Chaos::new();
        add(
            &chaos,
            r#"{"kind":"link-delay","source":"a","latency_ms":100,"jitter_ms":20}"#,
            None,
        );
        for _ in 0..50 {
            match chaos.region_link("a", "b") {
                LinkEffect::Delayed { delay_ms, dropped } => {
                    assert!((100..=120).contains(&delay_ms));
                    assert!(!dropped);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(chaos.region_link("b", "a"), LinkEffect::Open);
        add(
            &chaos,
            r#"{"kind":"link-delay","drop_probability":1.0}"#,
            None,
        );
        assert!(matches!(
            chaos.region_link("b", "a"),
            LinkEffect::Delayed { dropped: true, .. }
        ));
    }

    #[test]
    fn t10_clock_skew_sums_region_and_node() {
        let chaos = Chaos::new();
        add(
            &chaos,
            r#"{"kind":"clock-skew","region":"a","offset_ms":5000}"#,
            None,
        );
        add(
            &chaos,
            r#"{"kind":"clock-skew","region":"a","node":2,"offset_ms":-1000}"#,
            None,
        );
        assert_eq!(chaos.clock_offset_ms("a", 1), 5000);
        assert_eq!(chaos.clock_offset_ms("a", 2), 4000);
        assert_eq!(chaos.clock_offset_ms("b", 1), 0);
    }

    #[test]
    fn t10_injected_errors_respect_count_and_filters() {
        let chaos = Chaos::new();
        add(
            &chaos,
            r#"{"kind":"inject-error","operation":"PutItem","table":"t","error":"ThrottlingException","count":2}"#,
            None,
        );
        assert_eq!(chaos.api_fault("GetItem", Some("t")), None);
        assert_eq!(chaos.api_fault("PutItem", Some("u")), None);
        assert_eq!(chaos.api_fault("PutItem", None), None);
        let hit = chaos.api_fault("PutItem", Some("t")).expect("first");
        assert_eq!(hit.error, Some(InjectedError::ThrottlingException));
        assert!(chaos.api_fault("PutItem", Some("t")).is_some());
        assert_eq!(
            chaos.api_fault("PutItem", Some("t")),
            None,
            "spent after two"
        );
        assert!(chaos.list().is_empty());
    }

    #[test]
    fn t10_injected_error_rate_is_a_fraction() {
        let chaos = Chaos::new();
        add(
            &chaos,
            r#"{"kind":"inject-error","error":"InternalServerError","rate":0.25}"#,
            None,
        );
        let hits = (0..4000)
            .filter(|_| chaos.api_fault("GetItem", None).is_some())
            .count();
        assert!((800..1200).contains(&hits), "{hits} of 4000");
    }

    #[test]
    fn t10_faults_heal_when_their_duration_ends() {
        let chaos = Chaos::new();
        add(
            &chaos,
            r#"{"kind":"partition-region","region":"a"}"#,
            Some("PT0.05S"),
        );
        assert!(matches!(
            chaos.region_link("a", "b"),
            LinkEffect::Cut { .. }
        ));
        let listed = chaos.list();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].remaining_ms.is_some_and(|ms| ms <= 50));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(chaos.region_link("a", "b"), LinkEffect::Open);
        assert!(chaos.list().is_empty());
    }

    #[test]
    fn t10_the_same_id_replaces_a_fault() {
        let chaos = Chaos::new();
        let fault: Fault =
            serde_json::from_str(r#"{"kind":"partition-region","region":"a"}"#).expect("fault");
        let t = topology();
        chaos
            .add(Some("x".into()), fault.clone(), None, &t)
            .expect("add");
        chaos
            .add(Some("x".into()), fault.clone(), None, &t)
            .expect("again");
        assert_eq!(chaos.list().len(), 1);
        assert!(chaos
            .add(Some("bad id".into()), fault.clone(), None, &t)
            .is_err());
        assert!(chaos.add(None, fault, Some("PT5"), &t).is_err());
    }

    #[test]
    fn t10_metrics_and_status_show_faults() {
        let chaos = Chaos::new();
        add(
            &chaos,
            r#"{"kind":"partition-region","region":"a"}"#,
            Some("PT1M"),
        );
        let _ = chaos.region_link("a", "b");
        let registry = metrics::Metrics::new();
        let _registered = chaos
            .register_metrics(&registry)
            .unwrap_or_else(|e| panic!("{e}"));
        let text = registry.render();
        assert!(
            text.contains("meridian_chaos_faults_active{kind=\"partition-region\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("meridian_chaos_fired_total{kind=\"partition-region\"} 1"),
            "{text}"
        );
        let status = chaos.status();
        assert!(status.starts_with("chaos id="), "{status}");
        assert!(status.contains("kind=partition-region"), "{status}");
    }
}
