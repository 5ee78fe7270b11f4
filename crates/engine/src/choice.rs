//! Components chosen by a `kind` key: tasks, models and losses. Each kind is one file holding a
//! settings struct (read from its TOML table, serialised back into the resolved config) that
//! implements its family's trait, plus one [`Entry`] line in that family's registry.
//!
//! A [`Choice`] holds the chosen component behind an `Arc`: cheap to clone into every member of an
//! ensemble, compared and serialised through its settings, and read back as its concrete type with
//! [`Choice::get`]. To change a setting, override the key and read the config again
//! ([`crate::Config::with`]), so every change passes the same validation as a file.

use crate::reader::{ConfigError, Reader};
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use toml::{Table, Value};

/// What every component provides for free through its `Serialize` derive.
pub trait Settings: Any + fmt::Debug + Send + Sync {
    /// The component's keys and values, as the resolved config writes them (without `kind`).
    fn settings(&self) -> Table;
    fn as_any(&self) -> &dyn Any;
}

impl<T: serde::Serialize + Any + fmt::Debug + Send + Sync> Settings for T {
    fn settings(&self) -> Table {
        // A settings struct of numbers, strings, lists and enums always serialises; failing here
        // would be a bug in that struct, and an empty table would make configs compare equal.
        Table::try_from(self).expect("component settings serialise to a TOML table")
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A component with a kind name.
pub trait Kind: Settings {
    /// The `kind` value that selects it.
    fn kind(&self) -> &'static str;
}

/// One registered kind: its name and how to read its settings.
pub struct Entry<T: ?Sized> {
    pub kind: &'static str,
    pub read: fn(&mut Reader) -> Result<Arc<T>, ConfigError>,
}

/// A chosen component.
pub struct Choice<T: ?Sized>(Arc<T>);

impl<T: ?Sized + Kind> Choice<T> {
    pub fn new(inner: Arc<T>) -> Choice<T> {
        Choice(inner)
    }

    /// The component as its concrete settings type, if it is one.
    pub fn get<U: Any>(&self) -> Option<&U> {
        self.0.as_any().downcast_ref::<U>()
    }

    /// `kind` followed by the settings, as the resolved config writes them.
    pub fn table(&self) -> Table {
        let mut t = Table::new();
        t.insert("kind".into(), Value::String(self.0.kind().into()));
        t.extend(self.0.settings());
        t
    }
}

impl<T: ?Sized> std::ops::Deref for Choice<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> Clone for Choice<T> {
    fn clone(&self) -> Self {
        Choice(Arc::clone(&self.0))
    }
}

impl<T: ?Sized + Kind> PartialEq for Choice<T> {
    fn eq(&self, other: &Self) -> bool {
        self.table() == other.table()
    }
}

impl<T: ?Sized + Kind> fmt::Debug for Choice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl<T: ?Sized + Kind> serde::Serialize for Choice<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.table().serialize(s)
    }
}

/// Reads a component's table: `kind` (default `default`) picks the entry, which reads the rest;
/// keys nobody read are errors.
pub fn read<T: ?Sized + Kind>(
    mut r: Reader,
    entries: &[Entry<T>],
    default: &str,
) -> Result<Choice<T>, ConfigError> {
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind).collect();
    let kind = r.choice_or("kind", default, &kinds)?;
    let entry = entries
        .iter()
        .find(|e| e.kind == kind)
        .ok_or_else(|| r.invalid("kind", &Value::String(kind.clone()), kinds.join(", ")))?;
    let inner = (entry.read)(&mut r)?;
    r.finish()?;
    Ok(Choice(inner))
}
