//! The clock that stamps versions, skewed by the chaos state.

use crate::state::NodeChaos;

/// The system clock plus this node's chaos skew. The region leader stamps every log entry
/// with it, so skewing a region's clock skews the HLC timestamps of its writes, and
/// last-writer-wins picks winners by the skewed time (the HLC still never goes backwards).
#[derive(Debug, Clone)]
pub struct ChaosClock {
    node: NodeChaos,
}

impl ChaosClock {
    /// The clock of `node`.
    pub fn new(node: NodeChaos) -> ChaosClock {
        ChaosClock { node }
    }
}

impl model::Clock for ChaosClock {
    fn now_ms(&self) -> i64 {
        model::SystemClock
            .now_ms()
            .saturating_add(self.node.clock_offset_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Chaos, Fault, Topology};
    use model::Clock as _;

    #[test]
    fn t10_a_skewed_clock_runs_ahead_then_returns() {
        let chaos = Chaos::new();
        let mut topology = Topology::default();
        topology.regions.insert("a".into(), None);
        let clock = ChaosClock::new(NodeChaos::new(chaos.clone(), "a", 1));
        let before = clock.now_ms();
        let fault = Fault::ClockSkew {
            region: "a".into(),
            node: None,
            offset_ms: 3_600_000,
        };
        chaos.add(None, fault, None, &topology).expect("skew");
        assert!(clock.now_ms() >= before + 3_600_000);
        chaos.clear(None).expect("clear");
        assert!(clock.now_ms() < before + 3_600_000);
    }
}
