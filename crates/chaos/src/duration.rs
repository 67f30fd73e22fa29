//! ISO-8601 durations (`PT5M`, `PT30S`, `PT1H30M`, `PT0.5S`, `P1D`), the form AWS's fault
//! injection service takes for `aws:dynamodb:global-table-pause-replication`.

/// The longest fault: 12 hours, the fault injection service's own maximum for an action.
pub const DURATION_MS_MAX: u64 = 12 * 60 * 60 * 1000;

/// Parses an ISO-8601 duration of days, hours, minutes and (possibly fractional) seconds into
/// milliseconds. Years, months and weeks are refused (their length is ambiguous).
pub fn parse_iso8601(text: &str) -> Result<u64, String> {
    let bad = || format!("invalid duration {text:?}: use ISO-8601, e.g. PT30S, PT5M or PT1H30M");
    let rest = text.strip_prefix('P').ok_or_else(bad)?;
    if rest.is_empty() {
        return Err(bad());
    }
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    let mut total_ms: f64 = 0.0;
    let mut parse_part = |part: &str, units: &[(char, f64)]| -> Result<(), String> {
        let mut number = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let position = units[next_unit..]
                .iter()
                .position(|(u, _)| *u == c)
                .ok_or_else(bad)?;
            let (_, ms_per_unit) = units[next_unit + position];
            next_unit += position + 1;
            let value: f64 = number.parse().map_err(|_| bad())?;
            if number.contains('.') && c != 'S' {
                return Err(bad());
            }
            total_ms += value * ms_per_unit;
            number.clear();
        }
        if number.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    };
    parse_part(date, &[('D', 86_400_000.0)])?;
    if let Some(time) = time {
        parse_part(time, &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1_000.0)])?;
    }
    if !total_ms.is_finite() || total_ms < 1.0 {
        return Err(format!("duration {text:?} must be at least 1 ms"));
    }
    if total_ms > DURATION_MS_MAX as f64 {
        return Err(format!(
            "duration {text:?} is longer than the maximum, PT12H"
        ));
    }
    Ok(total_ms.round() as u64)
}

/// Formats milliseconds as an ISO-8601 duration (`PT1M30S`, `PT0.25S`).
pub fn format_iso8601(ms: u64) -> String {
    let hours = ms / 3_600_000;
    let minutes = (ms / 60_000) % 60;
    let millis = ms % 60_000;
    let mut out = String::from("PT");
    if hours > 0 {
        out.push_str(&format!("{hours}H"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}M"));
    }
    if millis > 0 || out == "PT" {
        if millis.is_multiple_of(1000) {
            out.push_str(&format!("{}S", millis / 1000));
        } else {
            let text = format!("{:.3}", millis as f64 / 1000.0);
            out.push_str(text.trim_end_matches('0'));
            out.push('S');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn t10_parses_what_the_fault_service_takes() {
        assert_eq!(parse_iso8601("PT5M"), Ok(300_000));
        assert_eq!(parse_iso8601("PT30S"), Ok(30_000));
        assert_eq!(parse_iso8601("PT1H30M"), Ok(5_400_000));
        assert_eq!(parse_iso8601("PT0.5S"), Ok(500));
        assert_eq!(parse_iso8601("P0DT2M"), Ok(120_000));
        assert_eq!(parse_iso8601("PT12H"), Ok(DURATION_MS_MAX));
    }

    #[test]
    fn t10_refuses_what_is_not_a_duration() {
        for bad in [
            "", "P", "PT", "5M", "PT5", "PT5X", "PT-5S", "P1Y", "P1W", "PTM", "PT1.5M", "PT5S5M",
            "PT0S", "PT13H", "P1D",
        ] {
            assert!(parse_iso8601(bad).is_err(), "{bad:?} was accepted");
        }
    }

    proptest! {
        #[test]
        fn t20_format_then_parse_round_trips(ms in 1u64..DURATION_MS_MAX) {
            prop_assert_eq!(parse_iso8601(&format_iso8601(ms)), Ok(ms));
        }
    }
}
