//! The durations of key rotation (`rotation.every`, `rotation.gracePeriod`): whole hours,
//! minutes and seconds in Go's notation, such as `720h` or `1h30m`, the subset the CRD's rule
//! accepts (and CEL's `duration()` reads the same way).

use std::time::Duration;

/// The duration `s` denotes, or `None` when it is not `[<n>h][<n>m][<n>s]` with at least one part.
pub fn parse(s: &str) -> Option<Duration> {
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut rest = s;
    let mut last_unit = 0u8;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 8 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        let (unit, seconds) = match rest.as_bytes().get(digits)? {
            b'h' => (1, 3600),
            b'm' => (2, 60),
            b's' => (3, 1),
            _ => return None,
        };
        if unit <= last_unit {
            return None;
        }
        last_unit = unit;
        total = total.checked_add(n.checked_mul(seconds)?)?;
        rest = &rest[digits + 1..];
    }
    Some(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(parse("720h"), Some(Duration::from_secs(720 * 3600)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("0s"), Some(Duration::ZERO));
        assert_eq!(parse("90s"), Some(Duration::from_secs(90)));
        for bad in ["", "h", "1d", "1.5h", "30m1h", "1h1h", "-1h", "1 h", "1H"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(h in proptest::option::of(0u64..1_000_000), m in proptest::option::of(0u64..1_000_000), s in proptest::option::of(0u64..100_000_000)) {
            prop_assume!(h.is_some() || m.is_some() || s.is_some());
            let text = format!("{}{}{}",
                h.map(|v| format!("{v}h")).unwrap_or_default(),
                m.map(|v| format!("{v}m")).unwrap_or_default(),
                s.map(|v| format!("{v}s")).unwrap_or_default());
            let want = h.unwrap_or(0) * 3600 + m.unwrap_or(0) * 60 + s.unwrap_or(0);
            prop_assert_eq!(parse(&text), Some(Duration::from_secs(want)));
        }

        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = parse(&s);
        }
    }
}
