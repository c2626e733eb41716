//! Named figures, one value per run, and the statistics the report shows. A figure's name
//! says what it is (`warm.native.alcove.c1.p50_ms`); repeated runs append to it and the
//! report shows the median of the runs.

use std::collections::BTreeMap;

/// The `p`-th percentile (0..=100) of `values`, nearest rank.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

#[derive(Default)]
pub struct Figures {
    values: BTreeMap<String, Vec<f64>>,
    /// Series kept for the JSON output only (RSS over a churn run...).
    series: BTreeMap<String, Vec<serde_json::Value>>,
    /// Why a system or figure is missing (peer not installed...).
    pub notes: Vec<String>,
}

impl Figures {
    pub fn record(&mut self, name: impl Into<String>, value: f64) {
        self.values.entry(name.into()).or_default().push(value);
    }

    pub fn record_series(&mut self, name: impl Into<String>, point: serde_json::Value) {
        self.series.entry(name.into()).or_default().push(point);
    }

    /// Median over runs.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).map(|v| median(v))
    }

    /// Figures that are not numbers (a benchmark that produced nothing usable).
    pub fn invalid(&self) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(_, v)| v.is_empty() || v.iter().any(|x| !x.is_finite() || *x < 0.0))
            .map(|(k, _)| k.as_str())
            .collect()
    }

    pub fn keys_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values.keys().filter(move |k| k.starts_with(prefix)).map(String::as_str)
    }

    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.keys_with_prefix(prefix).next().is_some()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn to_json(&self, context: serde_json::Value) -> serde_json::Value {
        let values: serde_json::Map<String, serde_json::Value> = self
            .values
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!({ "runs": v, "median": median(v) })))
            .collect();
        serde_json::json!({ "context": context, "figures": values, "series": self.series, "notes": self.notes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_medians() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn runs_collapse_to_their_median_and_bad_values_are_found() {
        let mut f = Figures::default();
        f.record("a", 1.0);
        f.record("a", 3.0);
        f.record("a", 2.0);
        f.record("b", f64::NAN);
        assert_eq!(f.get("a"), Some(2.0));
        assert_eq!(f.invalid(), vec!["b"]);
    }
}
