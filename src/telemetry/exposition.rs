//! A reader for the OpenMetrics text the operator exposes: enough of the format to list
//! families, their series and labels for the metrics reference and the asset checks, and
//! strict enough that tests fail on malformed output.

use thiserror::Error;

/// One metric family.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// Family name (`# TYPE` name; counters' samples add `_total`).
    pub name: String,
    /// OpenMetrics type: counter, gauge, histogram, info, ...
    pub kind: String,
    /// `# UNIT`, if given.
    pub unit: Option<String>,
    /// `# HELP` text.
    pub help: String,
    /// Samples in exposition order.
    pub samples: Vec<Sample>,
}

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Series name, e.g. `smbp_operator_reconciles_total`.
    pub name: String,
    /// Labels in exposition order.
    pub labels: Labels,
    /// Value.
    pub value: f64,
    /// Exemplar text after `# `, e.g. `{trace_id="…"} 0.2 1700000000.0`.
    pub exemplar: Option<String>,
}

/// Why a text is not the OpenMetrics this reader accepts.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("line {line}: {what}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

/// Suffixes a sample name may add to its family's name, by type.
pub fn suffixes(kind: &str) -> &'static [&'static str] {
    match kind {
        "counter" => &["_total", "_created"],
        "histogram" => &["_bucket", "_sum", "_count", "_created"],
        "summary" => &["", "_sum", "_count", "_created"],
        "info" => &["_info"],
        _ => &[""],
    }
}

/// Parse an exposition that ends with `# EOF`.
pub fn parse(text: &str) -> Result<Vec<Family>, ParseError> {
    let mut out: Vec<Family> = vec![];
    let mut eof = false;
    for (i, line) in text.lines().enumerate() {
        let err = |what: String| ParseError { line: i + 1, what };
        if eof {
            return Err(err("content after # EOF".into()));
        }
        if line == "# EOF" {
            eof = true;
        } else if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let arg = parts.next().unwrap_or("").to_string();
            if name.is_empty() {
                return Err(err(format!("{keyword} without a name")));
            }
            match keyword {
                "HELP" => out.push(Family {
                    name: name.into(),
                    kind: "unknown".into(),
                    unit: None,
                    help: arg,
                    samples: vec![],
                }),
                "TYPE" | "UNIT" => {
                    let f = out
                        .last_mut()
                        .filter(|f| f.name == name)
                        .ok_or_else(|| err(format!("{keyword} {name} outside its family")))?;
                    if keyword == "TYPE" {
                        f.kind = arg;
                    } else {
                        f.unit = Some(arg);
                    }
                }
                other => return Err(err(format!("unknown descriptor {other}"))),
            }
        } else {
            let f = out
                .last_mut()
                .ok_or_else(|| err("sample before any family".into()))?;
            let s = sample(line).map_err(err)?;
            let allowed = suffixes(&f.kind)
                .iter()
                .any(|sfx| s.name == format!("{}{sfx}", f.name));
            if !allowed {
                return Err(err(format!(
                    "{} does not belong to {} {}",
                    s.name, f.kind, f.name
                )));
            }
            f.samples.push(s);
        }
    }
    if !eof {
        return Err(ParseError {
            line: text.lines().count(),
            what: "no # EOF".into(),
        });
    }
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(|c| !is_name_char(c)).unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("bad sample name in {line:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = vec![];
    if let Some(r) = rest.strip_prefix('{') {
        let (l, after) = label_set(r)?;
        labels = l;
        rest = after;
    }
    let rest = rest
        .strip_prefix(' ')
        .ok_or_else(|| format!("no value in {line:?}"))?;
    let (values, exemplar) = match rest.split_once(" # ") {
        Some((v, e)) => (v, Some(e.to_string())),
        None => (rest, None),
    };
    let mut values = values.split(' ');
    let value = parse_number(values.next().unwrap_or(""))?;
    if let Some(ts) = values.next() {
        parse_number(ts)?;
    }
    if values.next().is_some() {
        return Err(format!("trailing text in {line:?}"));
    }
    if let Some(e) = &exemplar {
        let inner = e
            .strip_prefix('{')
            .ok_or_else(|| format!("exemplar without labels in {line:?}"))?;
        let (_, after) = label_set(inner)?;
        let mut nums = after.trim_start().split(' ');
        parse_number(nums.next().unwrap_or(""))?;
        for n in nums {
            parse_number(n)?;
        }
    }
    Ok(Sample {
        name: name.into(),
        labels,
        value,
        exemplar,
    })
}

/// Label names and values in exposition order.
pub type Labels = Vec<(String, String)>;

/// Labels after `{`, up to and including `}`; returns the labels and the text after.
fn label_set(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels = vec![];
    loop {
        if let Some(after) = s.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = s.find('=').ok_or("label without =")?;
        let key = &s[..eq];
        if key.is_empty() || !key.chars().all(is_name_char) {
            return Err(format!("bad label name {key:?}"));
        }
        let body = s[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = body.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => return Err("bad escape in label value".into()),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".into()),
            }
        };
        labels.push((key.to_string(), value));
        s = &body[end + 1..];
        if let Some(after) = s.strip_prefix(',') {
            s = after;
        } else if !s.starts_with('}') {
            return Err("labels not separated by ,".into());
        }
    }
}

fn parse_number(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("not a number: {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_families_samples_labels_and_exemplars() {
        let text = "# HELP a_seconds Latency.\n# TYPE a_seconds histogram\n# UNIT a_seconds seconds\n\
            a_seconds_sum 1.5\na_seconds_count 2\n\
            a_seconds_bucket{le=\"0.5\"} 1 # {trace_id=\"ab\"} 0.2 1700000000.5\n\
            a_seconds_bucket{le=\"+Inf\"} 2\n\
            # HELP b Things.\n# TYPE b counter\nb_total{x=\"q\\\"uote\",y=\"\"} 3\n# EOF\n";
        let f = parse(text).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].kind.as_str(), f[0].unit.as_deref()),
            ("histogram", Some("seconds"))
        );
        assert_eq!(f[0].samples.len(), 4);
        assert_eq!(
            f[0].samples[2].exemplar.as_deref(),
            Some("{trace_id=\"ab\"} 0.2 1700000000.5")
        );
        assert_eq!(
            f[0].samples[3].labels,
            vec![("le".to_string(), "+Inf".to_string())]
        );
        assert_eq!(f[0].samples[3].value, 2.0);
        assert_eq!(
            f[1].samples[0].labels,
            vec![
                ("x".to_string(), "q\"uote".to_string()),
                ("y".into(), String::new())
            ]
        );
        assert_eq!(f[1].help, "Things.");
    }

    #[test]
    fn refuses_malformed_text() {
        let bad = [
            "# HELP a A.\n# TYPE a gauge\na 1\n",
            "# HELP a A.\n# TYPE a gauge\na 1\n# EOF\na 2\n",
            "# HELP a A.\n# TYPE a gauge\na_total 1\n# EOF\n",
            "# HELP a A.\n# TYPE a counter\na_total{x=1} 1\n# EOF\n",
            "# HELP a A.\n# TYPE a gauge\na{x=\"1\" 1\n# EOF\n",
            "# HELP a A.\n# TYPE a gauge\na one\n# EOF\n",
            "# HELP a A.\n# TYPE b gauge\n# EOF\n",
            "a 1\n# EOF\n",
            "# HELP a A.\n# TYPE a gauge\na 1 # 0.1\n# EOF\n",
        ];
        for text in bad {
            assert!(parse(text).is_err(), "{text:?} was accepted");
        }
    }
}
