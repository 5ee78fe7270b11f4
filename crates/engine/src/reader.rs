//! Typed reading of a TOML table with errors that teach: every error names the full key, the value
//! given and what is allowed, and keys nobody asked for are reported with the nearest known key.
//! Every config reader (the top-level schema, each task, model and loss) builds on this leaf.

use std::fmt;
use toml::{Table, Value};

/// A configuration error. `Display` gives one line a user can act on.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// A key is present with a value of the wrong type or outside its range.
    Invalid {
        key: String,
        value: String,
        allowed: String,
    },
    /// A key that the schema does not know.
    Unknown {
        key: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    /// No embedded preset has this name.
    UnknownPreset {
        name: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    /// A required key is absent.
    Missing { key: String, allowed: String },
    /// The document itself (file, preset, or `--set`) could not be read.
    Parse { source: String, message: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid {
                key,
                value,
                allowed,
            } => {
                write!(f, "invalid value for `{key}`: {value}; allowed: {allowed}")
            }
            ConfigError::Unknown {
                key,
                suggestion,
                known,
            } => {
                write!(f, "unknown key `{key}`")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean `{s}`?)")?;
                }
                if !known.is_empty() {
                    write!(f, "; known keys here: {}", known.join(", "))?;
                }
                Ok(())
            }
            ConfigError::UnknownPreset {
                name,
                suggestion,
                known,
            } => {
                write!(f, "unknown preset `{name}`")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean `{s}`?)")?;
                }
                write!(f, "; available: {}", known.join(", "))
            }
            ConfigError::Missing { key, allowed } => {
                write!(f, "missing key `{key}`; expected {allowed}")
            }
            ConfigError::Parse { source, message } => write!(f, "cannot read {source}: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Shows a TOML value as the user would have typed it.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Reads the keys of one table. Each getter removes its key, so [`Reader::finish`] can report the
/// keys that no getter consumed.
pub struct Reader {
    path: String,
    table: Table,
    known: Vec<&'static str>,
}

impl Reader {
    pub fn new(path: &str, table: Table) -> Self {
        Reader {
            path: path.to_string(),
            table,
            known: Vec::new(),
        }
    }

    /// The dotted path of this table (`model`, `optim.decoder`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The dotted name of `key` inside this table.
    pub fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn take(&mut self, key: &'static str) -> Option<Value> {
        self.known.push(key);
        self.table.remove(key)
    }

    pub fn invalid(&self, key: &str, value: &Value, allowed: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: self.key(key),
            value: show(value),
            allowed: allowed.into(),
        }
    }

    /// A nested table; absent means empty (all defaults).
    pub fn table(&mut self, key: &'static str) -> Result<Reader, ConfigError> {
        match self.take(key) {
            None => Ok(Reader::new(&self.key(key), Table::new())),
            Some(Value::Table(t)) => Ok(Reader::new(&self.key(key), t)),
            Some(v) => Err(self.invalid(key, &v, "a table")),
        }
    }

    /// Every entry of a nested table of tables, e.g. `[optim.embed]`, `[optim.decoder]`, in key order.
    pub fn tables(&mut self, key: &'static str) -> Result<Vec<(String, Reader)>, ConfigError> {
        let outer = self.table(key)?;
        let mut out = Vec::new();
        let prefix = outer.path.clone();
        for (name, v) in outer.table {
            let path = format!("{prefix}.{name}");
            match v {
                Value::Table(t) => out.push((name, Reader::new(&path, t))),
                other => {
                    return Err(ConfigError::Invalid {
                        key: path,
                        value: show(&other),
                        allowed: "a table".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    pub fn f64_or(
        &mut self,
        key: &'static str,
        default: f64,
        ok: impl Fn(f64) -> bool,
        allowed: &str,
    ) -> Result<f64, ConfigError> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => {
                let x = match v {
                    Value::Float(x) => x,
                    Value::Integer(i) => i as f64,
                    _ => return Err(self.invalid(key, &v, allowed)),
                };
                if x.is_finite() && ok(x) {
                    Ok(x)
                } else {
                    Err(self.invalid(key, &v, allowed))
                }
            }
        }
    }

    pub fn usize_or(
        &mut self,
        key: &'static str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, ConfigError> {
        let allowed = if max == usize::MAX {
            format!("an integer >= {min}")
        } else {
            format!("an integer from {min} to {max}")
        };
        match self.take(key) {
            None => Ok(default),
            Some(Value::Integer(i))
                if i >= 0 && (i as u64) >= min as u64 && (i as u64) <= max as u64 =>
            {
                Ok(i as usize)
            }
            Some(v) => Err(self.invalid(key, &v, allowed)),
        }
    }

    pub fn u64_or(&mut self, key: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.take(key) {
            None => Ok(default),
            Some(Value::Integer(i)) if i >= 0 => Ok(i as u64),
            Some(v) => Err(self.invalid(key, &v, "a non-negative integer")),
        }
    }

    pub fn bool_or(&mut self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.take(key) {
            None => Ok(default),
            Some(Value::Boolean(b)) => Ok(b),
            Some(v) => Err(self.invalid(key, &v, "true or false")),
        }
    }

    pub fn string_or(&mut self, key: &'static str, default: &str) -> Result<String, ConfigError> {
        match self.take(key) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s),
            Some(v) => Err(self.invalid(key, &v, "a string")),
        }
    }

    /// One of a fixed set of words.
    pub fn choice_or(
        &mut self,
        key: &'static str,
        default: &str,
        choices: &[&str],
    ) -> Result<String, ConfigError> {
        let allowed = format!(
            "one of {}",
            choices
                .iter()
                .map(|c| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        match self.take(key) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) if choices.contains(&s.as_str()) => Ok(s),
            Some(v) => Err(self.invalid(key, &v, allowed)),
        }
    }

    /// An array of at most `max_len` integers, each from `min` to `max`.
    pub fn usize_list_or(
        &mut self,
        key: &'static str,
        default: &[usize],
        min: usize,
        max: usize,
        max_len: usize,
    ) -> Result<Vec<usize>, ConfigError> {
        let allowed = format!("an array of at most {max_len} integers, each from {min} to {max}");
        match self.take(key) {
            None => Ok(default.to_vec()),
            Some(Value::Array(a)) if a.len() <= max_len => a
                .iter()
                .map(|x| match x {
                    Value::Integer(i) if *i >= min as i64 && *i as u64 <= max as u64 => {
                        Ok(*i as usize)
                    }
                    _ => Err(self.invalid(key, &Value::Array(a.clone()), allowed.clone())),
                })
                .collect(),
            Some(v) => Err(self.invalid(key, &v, allowed)),
        }
    }

    pub fn string_list(&mut self, key: &'static str) -> Result<Vec<String>, ConfigError> {
        let allowed = "a non-empty array of strings";
        match self.take(key) {
            None => Err(ConfigError::Missing {
                key: self.key(key),
                allowed: allowed.into(),
            }),
            Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_str) => Ok(a
                .iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect()),
            Some(v) => Err(self.invalid(key, &v, allowed)),
        }
    }

    /// A value without taking it (to decide how to read the rest of the table).
    pub fn peek(&self, key: &str) -> Option<&Value> {
        self.table.get(key)
    }

    /// The keys still in this table.
    pub fn keys(&self) -> Vec<String> {
        self.table.keys().cloned().collect()
    }

    /// Every entry of this table with its path, for tables whose keys are the user's (such as
    /// `[model.init]`'s parameter names).
    pub fn entries(self) -> (String, Vec<(String, Value)>) {
        (self.path, self.table.into_iter().collect())
    }

    /// A raw value, for keys whose type decides their meaning (a count or a fraction).
    pub fn raw(&mut self, key: &'static str) -> Option<Value> {
        self.take(key)
    }

    /// Fails on the first key that no getter asked for.
    pub fn finish(self) -> Result<(), ConfigError> {
        if let Some(key) = self.table.keys().next() {
            let mut known: Vec<String> = self.known.iter().map(|k| k.to_string()).collect();
            known.sort();
            known.dedup();
            let suggestion = nearest(key, &known).map(|k| self.key(&k));
            return Err(ConfigError::Unknown {
                key: self.key(key),
                suggestion,
                known,
            });
        }
        Ok(())
    }
}

/// The known key closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn nearest(word: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| (edit_distance(word, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Applies `key.path=value` overrides to a document. The value is read as TOML (so `1e-3`, `[1, 2]`,
/// `"adam"` and `true` keep their types); a bare word that is not valid TOML is taken as a string.
pub fn apply_override(doc: &mut Table, spec: &str) -> Result<(), ConfigError> {
    let (path, value) = parse_override(spec)?;
    set(doc, &path, value).map_err(|e| match e {
        ConfigError::Parse { message, .. } => ConfigError::Parse {
            source: format!("--set {spec}"),
            message,
        },
        other => other,
    })
}

/// `key.path=value` as its dotted key and its TOML value (a bare word is a string).
pub fn parse_override(spec: &str) -> Result<(String, Value), ConfigError> {
    let bad = |message: &str| ConfigError::Parse {
        source: format!("--set {spec}"),
        message: message.into(),
    };
    let (path, raw) = spec
        .split_once('=')
        .ok_or_else(|| bad("expected key=value"))?;
    let path = path.trim();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(bad(
            "the key must be a dotted path such as optim.decoder.lr",
        ));
    }
    let value = match format!("v = {}", raw.trim()).parse::<Table>() {
        Ok(mut t) => t.remove("v").unwrap_or(Value::String(String::new())),
        Err(_) => Value::String(raw.trim().to_string()),
    };
    Ok((path.to_string(), value))
}

/// Sets `key.path` to `value` in a document, creating tables on the way.
pub fn set(doc: &mut Table, path: &str, value: Value) -> Result<(), ConfigError> {
    let bad = |message: String| ConfigError::Parse {
        source: format!("key {path}"),
        message,
    };
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad(
            "the key must be a dotted path such as optim.decoder.lr".into(),
        ));
    }
    let mut table = doc;
    for (depth, part) in parts[..parts.len() - 1].iter().enumerate() {
        let entry = table
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        table = match entry {
            Value::Table(t) => t,
            _ => {
                return Err(bad(format!(
                    "`{}` is not a table",
                    parts[..=depth].join(".")
                )));
            }
        };
    }
    table.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let t: Table = "lrr = 1.0\nlr = 2.0".parse().unwrap();
        let mut r = Reader::new("optim.decoder", t);
        assert_eq!(r.f64_or("lr", 0.0, |x| x > 0.0, "> 0").unwrap(), 2.0);
        let _ = r.f64_or("weight_decay", 0.0, |x| x >= 0.0, ">= 0");
        let e = r.finish().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown key `optim.decoder.lrr` (did you mean `optim.decoder.lr`?); known keys here: lr, weight_decay"
        );
    }

    #[test]
    fn range_errors_name_key_value_and_range() {
        let t: Table = "lr = -1".parse().unwrap();
        let mut r = Reader::new("optim.embed", t);
        let e = r
            .f64_or("lr", 1.0, |x| x > 0.0, "a number > 0")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value for `optim.embed.lr`: -1; allowed: a number > 0"
        );
        let t: Table = "head = \"softmax\"".parse().unwrap();
        let mut r = Reader::new("model", t);
        let e = r
            .choice_or("head", "regression", &["regression", "classification"])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value for `model.head`: \"softmax\"; allowed: one of \"regression\", \"classification\""
        );
    }

    #[test]
    fn overrides_keep_types_and_create_tables() {
        let mut doc = Table::new();
        apply_override(&mut doc, "optim.decoder.lr=1e-3").unwrap();
        apply_override(&mut doc, "model.head=classification").unwrap();
        apply_override(&mut doc, "model.d_hidden=[10, 20]").unwrap();
        assert_eq!(doc["optim"]["decoder"]["lr"], Value::Float(1e-3));
        assert_eq!(doc["model"]["head"], Value::String("classification".into()));
        assert_eq!(doc["model"]["d_hidden"].as_array().unwrap().len(), 2);
        assert!(apply_override(&mut doc, "model.head.x=1").is_err());
        assert!(apply_override(&mut doc, "nokey").is_err());
        assert!(apply_override(&mut doc, "a..b=1").is_err());
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            nearest("weigth_decay", &["weight_decay".into(), "lr".into()]).as_deref(),
            Some("weight_decay")
        );
        assert_eq!(nearest("zzz", &["weight_decay".into()]), None);
    }
}
