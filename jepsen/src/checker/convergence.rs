//! Convergence after heal: samples of every replica's full consistent scan, taken at times
//! since the heal; the replicas have converged at the first sample from which on every
//! replica's scan is identical (to the others and to the next samples').

use serde::Serialize;

/// Every replica's full scan at one moment (None: that replica did not answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// Milliseconds since the heal.
    pub at_ms: u64,
    pub scans: Vec<Option<Vec<String>>>,
}

/// The convergence verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvergenceReport {
    pub converged: bool,
    /// Seconds from the heal to the first sample of the identical run.
    pub seconds: Option<f64>,
    /// Items in the converged scan.
    pub items: usize,
    /// When not converged: item counts per replica in the last sample.
    pub last_counts: Vec<Option<usize>>,
    pub samples: usize,
}

impl ConvergenceReport {
    /// "converged in 1.2 s" or "DIVERGED".
    pub fn verdict(&self) -> String {
        match (self.converged, self.seconds) {
            (true, Some(s)) => format!("converged in {s:.1} s"),
            _ => format!("DIVERGED (counts {:?})", self.last_counts),
        }
    }
}

/// The scan every replica returned in `s`, if they all returned the same one.
fn identical(s: &Sample) -> Option<&Vec<String>> {
    let first = s.scans.first()?.as_ref()?;
    s.scans
        .iter()
        .all(|scan| scan.as_ref() == Some(first))
        .then_some(first)
}

/// Judges the samples, taken in time order. A single identical sample at the end is enough
/// (the sampler stops once it has seen two identical samples in a row).
pub fn check(samples: &[Sample]) -> ConvergenceReport {
    // Walk back from the end while samples are identical and equal to the last one.
    let mut start = None;
    if let Some(last) = samples.last().and_then(identical) {
        for (i, s) in samples.iter().enumerate().rev() {
            if identical(s) == Some(last) {
                start = Some(i);
            } else {
                break;
            }
        }
    }
    let last_counts = samples
        .last()
        .map(|s| s.scans.iter().map(|x| x.as_ref().map(Vec::len)).collect())
        .unwrap_or_default();
    match start {
        Some(i) => ConvergenceReport {
            converged: true,
            seconds: Some(samples[i].at_ms as f64 / 1000.0),
            items: identical(&samples[i]).map_or(0, Vec::len),
            last_counts,
            samples: samples.len(),
        },
        None => ConvergenceReport {
            converged: false,
            seconds: None,
            items: 0,
            last_counts,
            samples: samples.len(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: u64, scans: &[&[&str]]) -> Sample {
        Sample {
            at_ms,
            scans: scans
                .iter()
                .map(|s| Some(s.iter().map(|x| (*x).to_owned()).collect()))
                .collect(),
        }
    }

    #[test]
    fn replicas_that_catch_up_converge_and_the_time_is_reported() {
        let samples = vec![
            sample(0, &[&["a", "b"], &["a"], &["a"]]),
            sample(500, &[&["a", "b"], &["a", "b"], &["a"]]),
            sample(1200, &[&["a", "b"], &["a", "b"], &["a", "b"]]),
            sample(1400, &[&["a", "b"], &["a", "b"], &["a", "b"]]),
        ];
        let r = check(&samples);
        assert!(r.converged);
        assert_eq!(r.seconds, Some(1.2));
        assert_eq!(r.items, 2);
    }

    #[test]
    fn planted_divergence_is_caught() {
        // One replica never gets item b.
        let samples = vec![
            sample(0, &[&["a", "b"], &["a"]]),
            sample(1000, &[&["a", "b"], &["a"]]),
        ];
        let r = check(&samples);
        assert!(!r.converged);
        assert_eq!(r.last_counts, vec![Some(2), Some(1)]);
        assert!(r.verdict().starts_with("DIVERGED"));
        // Same items, different values.
        let r = check(&[sample(0, &[&["k=1"], &["k=2"]])]);
        assert!(!r.converged);
        // A replica that did not answer has not converged.
        let mut s = sample(0, &[&["a"], &["a"]]);
        s.scans[1] = None;
        assert!(!check(&[s]).converged);
    }

    #[test]
    fn agreement_that_does_not_last_is_not_convergence() {
        let samples = vec![
            sample(0, &[&["a"], &["a"]]),
            sample(100, &[&["a", "b"], &["a"]]),
        ];
        assert!(!check(&samples).converged);
        // Agreement, then a different agreement: converged from the second.
        let samples = vec![
            sample(0, &[&["a"], &["a"]]),
            sample(100, &[&["a", "b"], &["a", "b"]]),
        ];
        assert_eq!(check(&samples).seconds, Some(0.1));
        assert!(!check(&[]).converged);
    }
}
