use super::*;

const SPECS: &[FamilySpec] = &[
    FamilySpec {
        name: "meridian_test_depth",
        help: "A test gauge.",
        kind: Kind::Gauge,
        labels: &["pair"],
    },
    FamilySpec {
        name: "meridian_test_events_total",
        help: "A test counter.",
        kind: Kind::Counter,
        labels: &[],
    },
    FamilySpec {
        name: "meridian_test_latency_seconds",
        help: "A test histogram.",
        kind: Kind::Histogram,
        labels: &["pair"],
    },
];

#[test]
fn t10_api_records_show_in_the_exposition() {
    let m = Metrics::new();
    m.api().record(&RequestRecord {
        region: "us-east-1",
        operation: "PutItem",
        table: "t",
        error: Some("ValidationException"),
        seconds: 0.003,
        read_units: 0.0,
        write_units: 2.0,
    });
    let text = m.render();
    assert!(text.contains(
        "meridian_requests_total{operation=\"PutItem\",region=\"us-east-1\",table=\"t\"} 1"
    ));
    assert!(text.contains("error=\"ValidationException\""));
    assert!(text.contains("meridian_request_duration_seconds_bucket"));
    assert!(text.contains(
        "meridian_consumed_write_capacity_units_total{operation=\"PutItem\",region=\"us-east-1\",table=\"t\"} 2"
    ));
    assert!(text.contains("# HELP meridian_build_info"));
}

#[test]
fn t10_sampled_reads_state_at_each_scrape_and_forgets_gone_series() {
    let m = Metrics::new();
    let state = std::sync::Arc::new(std::sync::Mutex::new(vec![("a", 3.0)]));
    let source = state.clone();
    let sampled = Sampled::new(SPECS, &[("region", "r1"), ("node", "1")], move |s| {
        for (pair, depth) in source.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            s.set("meridian_test_depth", &[pair], *depth);
        }
        s.set("meridian_test_events_total", &[], 7.0);
        s.histogram(
            "meridian_test_latency_seconds",
            &["a"],
            &[(0.1, 2), (1.0, 1)],
            4,
            7.5,
        );
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let registration = m.register(sampled).unwrap_or_else(|e| panic!("{e}"));
    let text = m.render();
    assert!(text.contains("meridian_test_depth{node=\"1\",pair=\"a\",region=\"r1\"} 3"));
    assert!(text.contains("meridian_test_events_total{node=\"1\",region=\"r1\"} 7"));
    assert!(text.contains("# TYPE meridian_test_latency_seconds histogram"));
    assert!(text.contains(
        "meridian_test_latency_seconds_bucket{node=\"1\",pair=\"a\",region=\"r1\",le=\"1\"} 3"
    ));
    assert!(text.contains(
        "meridian_test_latency_seconds_bucket{node=\"1\",pair=\"a\",region=\"r1\",le=\"+Inf\"} 4"
    ));
    assert!(
        text.contains("meridian_test_latency_seconds_sum{node=\"1\",pair=\"a\",region=\"r1\"} 7.5")
    );
    *state.lock().unwrap_or_else(|p| p.into_inner()) = vec![("b", 1.5)];
    let text = m.render();
    assert!(
        !text.contains("meridian_test_depth{node=\"1\",pair=\"a\""),
        "{text}"
    );
    assert!(text.contains("meridian_test_depth{node=\"1\",pair=\"b\""));
    drop(registration);
    assert!(!m.render().contains("meridian_test_depth"));
}

#[test]
fn t10_two_nodes_share_a_family_under_their_own_labels() {
    let m = Metrics::new();
    let node = |n: &'static str| {
        Sampled::new(SPECS, &[("region", "r1"), ("node", n)], |s| {
            s.set("meridian_test_events_total", &[], 1.0)
        })
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let _a = m.register(node("1")).unwrap_or_else(|e| panic!("{e}"));
    let _b = m.register(node("2")).unwrap_or_else(|e| panic!("{e}"));
    let text = m.render();
    assert_eq!(
        text.matches("# TYPE meridian_test_events_total counter")
            .count(),
        1
    );
    assert!(text.contains("node=\"1\"") && text.contains("node=\"2\""));
    // The same node twice is a duplicate series: refused, not silently doubled.
    assert!(m.register(node("1")).is_err());
}
