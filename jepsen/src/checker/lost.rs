//! No lost acknowledged writes.
//!
//! Sets: every element whose add was acknowledged must be in the set's final read after heal;
//! an element whose add failed (known not applied), or that nobody tried to add, must not be.
//! Adds that ended `Info` may be either.
//!
//! Cross-region: every distinct item whose put was acknowledged in any region must be present
//! in every region's final read, unless a delete of it was attempted; every distinct item whose
//! delete was acknowledged must be absent from every region's final read (an acknowledged
//! delete never comes back: issue 13); every final value of a key must be one some client
//! attempted (acknowledged or info) for that key; and every region must agree on every key.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::history::{Op, OpKind, Outcome};

/// The verdict of the set checker.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LostReport {
    /// Acknowledged writes checked.
    pub acknowledged: usize,
    /// (key, element or value) acknowledged but missing from a final read.
    pub lost: Vec<(String, i64)>,
    /// (key, element or value) present in a final read though never (successfully) attempted.
    pub unexpected: Vec<(String, i64)>,
    /// Keys that had acknowledged writes but no successful final read (nothing can be proven).
    pub unread: Vec<String>,
    /// Keys whose final values differ between regions (cross-region only).
    pub disagreements: Vec<String>,
    /// Distinct items whose delete was acknowledged but that a final read still holds.
    #[serde(default)]
    pub resurrected: Vec<String>,
}

impl LostReport {
    /// True when nothing was lost, invented, left unread or disputed.
    pub fn passed(&self) -> bool {
        self.lost.is_empty()
            && self.unexpected.is_empty()
            && self.unread.is_empty()
            && self.disagreements.is_empty()
            && self.resurrected.is_empty()
    }
}

/// Checks the set workload: `Add` operations and one successful `ReadSet` per key (the last
/// one counts).
pub fn check_sets(history: &[Op]) -> LostReport {
    let mut acked: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    let mut maybe: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    let mut finals: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for op in history {
        match (op.kind, op.outcome) {
            (OpKind::Add, Outcome::Ok) => {
                if let Some(v) = op.value {
                    acked.entry(&op.key).or_default().insert(v);
                }
            }
            (OpKind::Add, Outcome::Info) => {
                if let Some(v) = op.value {
                    maybe.entry(&op.key).or_default().insert(v);
                }
            }
            (OpKind::ReadSet, Outcome::Ok) => {
                finals.insert(
                    &op.key,
                    op.values.iter().flatten().copied().collect::<BTreeSet<_>>(),
                );
            }
            _ => {}
        }
    }
    let mut report = LostReport {
        acknowledged: acked.values().map(BTreeSet::len).sum(),
        ..Default::default()
    };
    for (key, elems) in &acked {
        match finals.get(key) {
            None => report.unread.push((*key).to_owned()),
            Some(seen) => report
                .lost
                .extend(elems.difference(seen).map(|e| ((*key).to_owned(), *e))),
        }
    }
    let empty = BTreeSet::new();
    for (key, seen) in &finals {
        let a = acked.get(key).unwrap_or(&empty);
        let m = maybe.get(key).unwrap_or(&empty);
        report.unexpected.extend(
            seen.iter()
                .filter(|e| !a.contains(e) && !m.contains(e))
                .map(|e| ((*key).to_owned(), *e)),
        );
    }
    report
}

/// Keys of distinct items (written once each) in the cross-region workload start with this.
pub const UNIQUE_KEY_PREFIX: &str = "u-";

/// Checks the cross-region workload: `Write` operations in any region, then `FinalRead`
/// operations (one per region and key present in any region).
pub fn check_cross_region(history: &[Op]) -> LostReport {
    let mut attempted: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    let mut acked_unique: BTreeMap<&str, i64> = BTreeMap::new();
    // region → key → value
    let mut finals: BTreeMap<&str, BTreeMap<&str, Option<i64>>> = BTreeMap::new();
    let mut delete_attempted: BTreeSet<&str> = BTreeSet::new();
    let mut deleted: BTreeSet<&str> = BTreeSet::new();
    for op in history {
        match (op.kind, op.outcome) {
            (OpKind::Write, Outcome::Ok | Outcome::Info) => {
                if let Some(v) = op.value {
                    attempted.entry(&op.key).or_default().insert(v);
                    if op.outcome == Outcome::Ok && op.key.starts_with(UNIQUE_KEY_PREFIX) {
                        acked_unique.insert(&op.key, v);
                    }
                }
            }
            (OpKind::FinalRead, Outcome::Ok) => {
                let region = op.region.as_deref().unwrap_or("");
                finals.entry(region).or_default().insert(&op.key, op.value);
            }
            (OpKind::Delete, outcome) => {
                // A failed delete is known not to have happened: the item must stay.
                if outcome != Outcome::Fail {
                    delete_attempted.insert(&op.key);
                }
                if outcome == Outcome::Ok {
                    deleted.insert(&op.key);
                }
            }
            _ => {}
        }
    }
    let acked_total = history
        .iter()
        .filter(|o| o.kind == OpKind::Write && o.outcome == Outcome::Ok)
        .count();
    let mut report = LostReport {
        acknowledged: acked_total,
        ..Default::default()
    };
    if finals.is_empty() {
        report.unread = acked_unique.keys().map(|k| (*k).to_owned()).collect();
        return report;
    }
    let keys: BTreeSet<&str> = finals
        .values()
        .flat_map(|m| m.keys().copied())
        .chain(acked_unique.keys().copied())
        .collect();
    for key in keys {
        let values: Vec<Option<i64>> = finals
            .values()
            .map(|m| m.get(key).copied().flatten())
            .collect();
        if values.windows(2).any(|w| w[0] != w[1]) {
            report.disagreements.push(key.to_owned());
        }
        if let Some(v) = acked_unique.get(key) {
            if !delete_attempted.contains(key) && values.iter().any(|got| *got != Some(*v)) {
                report.lost.push((key.to_owned(), *v));
            }
        }
        if deleted.contains(key) && values.iter().any(Option::is_some) {
            report.resurrected.push(key.to_owned());
        }
        for v in values.iter().flatten() {
            if !attempted.get(key).is_some_and(|a| a.contains(v)) {
                report.unexpected.push((key.to_owned(), *v));
            }
        }
    }
    report.unexpected.sort();
    report.unexpected.dedup();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::test_support::op;

    fn read_set(index: usize, key: &str, values: &[i64]) -> Op {
        let mut o = op(index, key, OpKind::ReadSet, None, Outcome::Ok, 1000, 1001);
        o.values = Some(values.to_vec());
        o
    }

    fn adds() -> Vec<Op> {
        vec![
            op(0, "s", OpKind::Add, Some(1), Outcome::Ok, 0, 1),
            op(1, "s", OpKind::Add, Some(2), Outcome::Ok, 2, 3),
            op(2, "s", OpKind::Add, Some(3), Outcome::Info, 4, 5),
            op(3, "s", OpKind::Add, Some(4), Outcome::Fail, 6, 7),
        ]
    }

    #[test]
    fn a_complete_set_passes_with_or_without_info_elements() {
        let mut h = adds();
        h.push(read_set(4, "s", &[1, 2, 3]));
        let r = check_sets(&h);
        assert!(r.passed(), "{r:?}");
        assert_eq!(r.acknowledged, 2);
        let mut h = adds();
        h.push(read_set(4, "s", &[1, 2]));
        assert!(check_sets(&h).passed());
    }

    #[test]
    fn planted_lost_element_is_caught() {
        let mut h = adds();
        h.push(read_set(4, "s", &[1, 3]));
        let r = check_sets(&h);
        assert!(!r.passed());
        assert_eq!(r.lost, vec![("s".to_owned(), 2)]);
    }

    #[test]
    fn planted_failed_or_invented_element_is_caught() {
        let mut h = adds();
        h.push(read_set(4, "s", &[1, 2, 4, 99]));
        let r = check_sets(&h);
        assert_eq!(
            r.unexpected,
            vec![("s".to_owned(), 4), ("s".to_owned(), 99)]
        );
        assert!(!r.passed());
    }

    #[test]
    fn a_set_never_read_is_not_a_pass() {
        let r = check_sets(&adds());
        assert_eq!(r.unread, vec!["s".to_owned()]);
        assert!(!r.passed());
    }

    fn final_read(index: usize, region: &str, key: &str, value: Option<i64>) -> Op {
        let mut o = op(
            index,
            key,
            OpKind::FinalRead,
            value,
            Outcome::Ok,
            1000,
            1001,
        );
        o.region = Some(region.to_owned());
        o
    }

    fn cross_writes() -> Vec<Op> {
        let mut h = vec![
            op(0, "k0", OpKind::Write, Some(10), Outcome::Ok, 0, 1),
            op(1, "k0", OpKind::Write, Some(20), Outcome::Info, 0, 1),
            op(2, "u-1", OpKind::Write, Some(30), Outcome::Ok, 0, 1),
            op(3, "k0", OpKind::Write, Some(40), Outcome::Fail, 0, 1),
        ];
        h[0].region = Some("a".into());
        h[1].region = Some("b".into());
        h
    }

    #[test]
    fn cross_region_agreement_on_attempted_values_passes() {
        let mut h = cross_writes();
        for (i, r) in ["a", "b"].into_iter().enumerate() {
            h.push(final_read(10 + 2 * i, r, "k0", Some(20)));
            h.push(final_read(11 + 2 * i, r, "u-1", Some(30)));
        }
        let report = check_cross_region(&h);
        assert!(report.passed(), "{report:?}");
    }

    #[test]
    fn planted_cross_region_violations_are_caught() {
        // Regions disagree on k0.
        let mut h = cross_writes();
        h.push(final_read(10, "a", "k0", Some(10)));
        h.push(final_read(11, "b", "k0", Some(20)));
        h.push(final_read(12, "a", "u-1", Some(30)));
        h.push(final_read(13, "b", "u-1", Some(30)));
        assert_eq!(check_cross_region(&h).disagreements, vec!["k0".to_owned()]);
        // The acknowledged distinct item is missing in b, and k0 holds a failed write's value.
        let mut h = cross_writes();
        h.push(final_read(10, "a", "k0", Some(40)));
        h.push(final_read(11, "b", "k0", Some(40)));
        h.push(final_read(12, "a", "u-1", Some(30)));
        let r = check_cross_region(&h);
        assert_eq!(r.lost, vec![("u-1".to_owned(), 30)]);
        assert_eq!(r.unexpected, vec![("k0".to_owned(), 40)]);
        assert!(!r.passed());
    }

    fn deleted_unique(outcome: Outcome) -> Vec<Op> {
        let mut h = cross_writes();
        let mut d = op(5, "u-1", OpKind::Delete, None, outcome, 2, 3);
        d.region = Some("b".into());
        h.push(d);
        h
    }

    #[test]
    fn a_deleted_item_absent_everywhere_passes() {
        let mut h = deleted_unique(Outcome::Ok);
        h.push(final_read(10, "a", "k0", Some(10)));
        h.push(final_read(11, "b", "k0", Some(10)));
        let r = check_cross_region(&h);
        assert!(r.passed(), "{r:?}");
        // An info delete may or may not have happened: present or absent both pass.
        let mut h = deleted_unique(Outcome::Info);
        for (i, region) in ["a", "b"].into_iter().enumerate() {
            h.push(final_read(10 + 2 * i, region, "k0", Some(10)));
            h.push(final_read(11 + 2 * i, region, "u-1", Some(30)));
        }
        assert!(check_cross_region(&h).passed());
    }

    #[test]
    fn planted_resurrection_is_caught() {
        // The delete was acknowledged, yet the item is back (in every region: they agree).
        let mut h = deleted_unique(Outcome::Ok);
        for (i, region) in ["a", "b"].into_iter().enumerate() {
            h.push(final_read(10 + 2 * i, region, "k0", Some(10)));
            h.push(final_read(11 + 2 * i, region, "u-1", Some(30)));
        }
        let r = check_cross_region(&h);
        assert_eq!(r.resurrected, vec!["u-1".to_owned()]);
        assert!(r.disagreements.is_empty());
        assert!(!r.passed());
        // A failed delete did not happen: the item must still be there.
        let mut h = deleted_unique(Outcome::Fail);
        h.push(final_read(10, "a", "k0", Some(10)));
        h.push(final_read(11, "b", "k0", Some(10)));
        assert_eq!(check_cross_region(&h).lost, vec![("u-1".to_owned(), 30)]);
    }
}
