//! [`Sampled`]: families whose values a layer reads from its own state at scrape time.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use prometheus::core::{Collector, Desc, Describer as _};
use prometheus::proto::{self, Bucket, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{CounterVec, GaugeVec, Opts};

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A running total; its name ends in `_total`.
    Counter,
    /// Observations counted into buckets, filled with [`Sample::histogram`]; name the unit
    /// (`_seconds`).
    Histogram,
}

/// One family a [`Sampled`] collector exposes.
#[derive(Debug, Clone, Copy)]
pub struct FamilySpec {
    /// The full name (`meridian_raft_term`).
    pub name: &'static str,
    /// The HELP text.
    pub help: &'static str,
    /// Gauge or counter.
    pub kind: Kind,
    /// The variable labels, in the order [`Sample::set`] takes their values.
    pub labels: &'static [&'static str],
}

enum Vec_ {
    Gauge(GaugeVec),
    Counter(CounterVec),
    /// The family's descriptor and its constant labels; its series are built at each scrape.
    Histogram(Box<Desc>, Vec<LabelPair>),
}

/// Handed to the fill function at each scrape: set each series' current value.
pub struct Sample<'a> {
    families: &'a BTreeMap<&'static str, Vec_>,
    histograms: RefCell<BTreeMap<&'static str, Vec<Metric>>>,
}

impl fmt::Debug for Sample<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sample").finish_non_exhaustive()
    }
}

impl Sample<'_> {
    /// Sets the series of family `name` with these label values (in the spec's order) to
    /// `value`. A name the collector does not declare, or the wrong number of label values,
    /// is ignored (and asserted against in debug builds).
    pub fn set(&self, name: &str, labels: &[&str], value: f64) {
        let set = match self.families.get(name) {
            Some(Vec_::Gauge(v)) => v.get_metric_with_label_values(labels).map(|g| g.set(value)),
            Some(Vec_::Counter(v)) => v.get_metric_with_label_values(labels).map(|c| {
                c.reset();
                c.inc_by(value.max(0.0));
            }),
            Some(Vec_::Histogram(..)) | None => {
                debug_assert!(false, "undeclared gauge or counter {name}");
                return;
            }
        };
        debug_assert!(set.is_ok(), "bad labels for {name}: {labels:?}");
    }

    /// Sets the series of histogram `name` with these label values: `buckets` holds each
    /// upper bound with the observations at or below it and above the previous bound (not
    /// cumulative); `count` and `sum` cover every observation, those past the last bound too.
    pub fn histogram(
        &self,
        name: &str,
        labels: &[&str],
        buckets: &[(f64, u64)],
        count: u64,
        sum: f64,
    ) {
        let Some((key, Vec_::Histogram(desc, constant))) = self.families.get_key_value(name) else {
            debug_assert!(false, "undeclared histogram {name}");
            return;
        };
        if labels.len() != desc.variable_labels.len() {
            debug_assert!(false, "bad labels for {name}: {labels:?}");
            return;
        }
        let mut pairs = constant.clone();
        for (name, value) in desc.variable_labels.iter().zip(labels) {
            let mut pair = LabelPair::default();
            pair.set_name(name.clone());
            pair.set_value((*value).to_owned());
            pairs.push(pair);
        }
        pairs.sort_by(|a, b| a.name().cmp(b.name()));
        let mut cumulative = 0;
        let buckets = buckets
            .iter()
            .map(|(bound, n)| {
                cumulative += n;
                let mut bucket = Bucket::default();
                bucket.set_upper_bound(*bound);
                bucket.set_cumulative_count(cumulative);
                bucket
            })
            .collect();
        let mut histogram = proto::Histogram::default();
        histogram.set_sample_count(count);
        histogram.set_sample_sum(sum);
        histogram.set_bucket(buckets);
        let mut metric = Metric::default();
        metric.set_label(pairs);
        metric.set_histogram(histogram);
        self.histograms
            .borrow_mut()
            .entry(key)
            .or_default()
            .push(metric);
    }
}

type Fill = dyn Fn(&Sample<'_>) + Send + Sync;

/// A collector over a fixed set of families whose values `fill` reads at each scrape.
#[derive(Clone)]
pub struct Sampled {
    families: Arc<BTreeMap<&'static str, Vec_>>,
    fill: Arc<Fill>,
    /// One scrape at a time: each clears the series, then fills them.
    scrape: Arc<Mutex<()>>,
}

impl fmt::Debug for Sampled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sampled")
            .field("families", &self.families.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Sampled {
    /// A collector of `specs`, each series carrying `const_labels` too (`region`, `node`),
    /// whose values `fill` sets at each scrape. Fails on an invalid name or label.
    pub fn new(
        specs: &[FamilySpec],
        const_labels: &[(&str, &str)],
        fill: impl Fn(&Sample<'_>) + Send + Sync + 'static,
    ) -> Result<Sampled, crate::MetricsError> {
        let mut families = BTreeMap::new();
        for spec in specs {
            let mut opts = Opts::new(spec.name, spec.help);
            for (k, v) in const_labels {
                opts = opts.const_label(*k, *v);
            }
            let vec = match spec.kind {
                Kind::Gauge => Vec_::Gauge(GaugeVec::new(opts, spec.labels)?),
                Kind::Counter => Vec_::Counter(CounterVec::new(opts, spec.labels)?),
                Kind::Histogram => {
                    let desc = opts
                        .variable_labels(spec.labels.iter().map(|l| (*l).to_owned()).collect())
                        .describe()?;
                    let constant = desc.const_label_pairs.clone();
                    Vec_::Histogram(Box::new(desc), constant)
                }
            };
            families.insert(spec.name, vec);
        }
        Ok(Sampled {
            families: Arc::new(families),
            fill: Arc::new(fill),
            scrape: Arc::new(Mutex::new(())),
        })
    }
}

impl Collector for Sampled {
    fn desc(&self) -> Vec<&Desc> {
        self.families
            .values()
            .flat_map(|v| match v {
                Vec_::Gauge(g) => g.desc(),
                Vec_::Counter(c) => c.desc(),
                Vec_::Histogram(desc, _) => vec![&**desc],
            })
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _one = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        for v in self.families.values() {
            match v {
                Vec_::Gauge(g) => g.reset(),
                Vec_::Counter(c) => c.reset(),
                Vec_::Histogram(..) => {}
            }
        }
        let sample = Sample {
            families: &self.families,
            histograms: RefCell::new(BTreeMap::new()),
        };
        (self.fill)(&sample);
        let mut histograms = sample.histograms.into_inner();
        self.families
            .iter()
            .flat_map(|(name, v)| match v {
                Vec_::Gauge(g) => g.collect(),
                Vec_::Counter(c) => c.collect(),
                Vec_::Histogram(desc, _) => {
                    let mut family = MetricFamily::default();
                    family.set_name(desc.fq_name.clone());
                    family.set_help(desc.help.clone());
                    family.set_field_type(MetricType::HISTOGRAM);
                    family.set_metric(histograms.remove(name).unwrap_or_default());
                    vec![family]
                }
            })
            .collect()
    }
}
