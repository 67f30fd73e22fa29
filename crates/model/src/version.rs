//! Versions of items across regions: a hybrid logical clock timestamp and the region the write
//! originated in, ordered so that last-writer-wins is a total order every region agrees on.
//!
//! A timestamp packs wall-clock milliseconds in its high 48 bits and a logical counter in its
//! low 16 bits. [`Hlc::tick`] gives every local write a timestamp above everything the region
//! has issued or observed, even when the wall clock goes backwards; [`Hlc::observe`] advances
//! the clock past a remote version on arrival, so a write made after a region has seen another
//! region's write always wins over it.

use serde::{Deserialize, Serialize};

/// Bits of the logical counter in a timestamp.
pub const LOGICAL_BITS: u32 = 16;

/// A hybrid logical clock timestamp.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The smallest timestamp: older than every real write.
    pub const ZERO: Timestamp = Timestamp(0);

    /// The timestamp at wall-clock `ms` with logical counter 0 (negative ms clamp to 0).
    pub fn from_wall_ms(ms: i64) -> Timestamp {
        Timestamp((ms.max(0) as u64) << LOGICAL_BITS)
    }

    /// The wall-clock part, in Unix milliseconds.
    pub fn wall_ms(self) -> i64 {
        (self.0 >> LOGICAL_BITS) as i64
    }

    /// The logical counter.
    pub fn logical(self) -> u16 {
        (self.0 & ((1 << LOGICAL_BITS) - 1)) as u16
    }
}

/// A region's hybrid logical clock: the largest timestamp it has issued or observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Hlc {
    last: u64,
}

impl Hlc {
    /// A clock that has issued and observed `last`.
    pub fn at(last: Timestamp) -> Hlc {
        Hlc { last: last.0 }
    }

    /// The largest timestamp issued or observed.
    pub fn last(self) -> Timestamp {
        Timestamp(self.last)
    }

    /// A new timestamp for a local write at wall-clock `wall_ms`: greater than every timestamp
    /// this clock has issued or observed, and not below the wall clock.
    pub fn tick(&mut self, wall_ms: i64) -> Timestamp {
        let wall = Timestamp::from_wall_ms(wall_ms).0;
        self.last = wall.max(self.last.saturating_add(1));
        Timestamp(self.last)
    }

    /// Advances past a timestamp seen in a remote version.
    pub fn observe(&mut self, remote: Timestamp) {
        self.last = self.last.max(remote.0);
    }
}

/// The version of an item (or of its tombstone): when and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Version {
    pub timestamp: Timestamp,
    /// The region the write originated in; breaks timestamp ties deterministically.
    pub region: String,
}

impl Version {
    /// A version.
    pub fn new(timestamp: Timestamp, region: impl Into<String>) -> Version {
        Version {
            timestamp,
            region: region.into(),
        }
    }

    /// Whether a write at `self` replaces one at `other` under last-writer-wins.
    pub fn wins_over(&self, other: &Version) -> bool {
        self > other
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// Timestamp first, then region id.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.timestamp, &self.region).cmp(&(other.timestamp, &other.region))
    }
}

/// Last-writer-wins merge of two versioned states (an item or a tombstone): the one with the
/// higher version. Commutative, associative and idempotent, so replicas that receive the same
/// writes in any order, any number of times, converge.
pub fn lww<T>(a: (Version, T), b: (Version, T)) -> (Version, T) {
    if b.0 > a.0 {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn version() -> impl Strategy<Value = Version> {
        (
            0u64..40,
            prop::sample::select(vec!["ap-south-1", "eu-west-1", "us-east-1"]),
        )
            .prop_map(|(t, r)| Version::new(Timestamp(t), r))
    }

    fn state() -> impl Strategy<Value = (Version, u8)> {
        (version(), any::<u8>())
    }

    /// States with distinct versions carry the same payload in tests of equality: a version
    /// names one write.
    fn same(a: &(Version, u8), b: &(Version, u8)) -> bool {
        a.0 == b.0
    }

    proptest! {
        #[test]
        fn lww_is_commutative(a in state(), b in state()) {
            let ab = lww(a.clone(), b.clone());
            let ba = lww(b, a);
            prop_assert!(same(&ab, &ba));
        }

        #[test]
        fn lww_is_associative(a in state(), b in state(), c in state()) {
            let left = lww(lww(a.clone(), b.clone()), c.clone());
            let right = lww(a, lww(b, c));
            prop_assert!(same(&left, &right));
        }

        #[test]
        fn lww_is_idempotent(a in state()) {
            prop_assert_eq!(lww(a.clone(), a.clone()), a);
        }

        #[test]
        fn lww_picks_the_maximum(states in prop::collection::vec(state(), 1..20)) {
            let max = states.iter().map(|s| s.0.clone()).max();
            let merged = states.into_iter().reduce(lww).map(|s| s.0);
            prop_assert_eq!(merged, max);
        }

        #[test]
        fn ticks_are_strictly_increasing(walls in prop::collection::vec(-5i64..1_000_000, 1..50)) {
            let mut clock = Hlc::default();
            let mut previous = Timestamp::ZERO;
            for wall in walls {
                let t = clock.tick(wall);
                prop_assert!(t > previous);
                prop_assert!(t.wall_ms() >= wall.max(0));
                previous = t;
            }
        }

        #[test]
        fn a_tick_after_observing_wins(local in 0i64..1_000_000, remote in 0u64..u64::MAX / 4) {
            let mut clock = Hlc::default();
            clock.observe(Timestamp(remote));
            let t = clock.tick(local);
            prop_assert!(t > Timestamp(remote));
            prop_assert!(Version::new(t, "a").wins_over(&Version::new(Timestamp(remote), "z")));
        }
    }

    #[test]
    fn ties_break_on_region() {
        let t = Timestamp::from_wall_ms(5);
        assert!(Version::new(t, "us-east-1").wins_over(&Version::new(t, "eu-west-1")));
        assert!(!Version::new(t, "eu-west-1").wins_over(&Version::new(t, "eu-west-1")));
    }

    #[test]
    fn a_clock_that_went_backwards_still_advances() {
        let mut clock = Hlc::default();
        let a = clock.tick(10_000);
        let b = clock.tick(5_000);
        assert!(b > a);
        assert_eq!(b.wall_ms(), 10_000);
        assert_eq!(b.logical(), 1);
    }
}
