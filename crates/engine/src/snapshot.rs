//! A training call's whole state at one step, as named f64 arrays and string fields: what
//! `state.safetensors` holds so that a run continues exactly where it stopped (parameters, the
//! optimiser's moments and filter histories, each member's batch stream, record and probes).
//! Every value is stored as f64, which holds an f32 exactly, so a round trip changes no bit.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Snapshot {
    pub arrays: BTreeMap<String, Vec<f64>>,
    pub fields: BTreeMap<String, String>,
}

impl Snapshot {
    pub fn put(&mut self, name: impl Into<String>, values: Vec<f64>) {
        self.arrays.insert(name.into(), values);
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl ToString) {
        self.fields.insert(name.into(), value.to_string());
    }

    /// An optional value as a field ("" for None).
    pub fn set_opt<T: ToString>(&mut self, name: impl Into<String>, value: Option<T>) {
        self.set(name, value.map_or_else(String::new, |v| v.to_string()));
    }

    pub fn has(&self, name: &str) -> bool {
        self.arrays.contains_key(name)
    }

    /// Removes and returns array `name`.
    pub fn take(&mut self, name: &str) -> Result<Vec<f64>, String> {
        self.arrays
            .remove(name)
            .ok_or_else(|| format!("the saved state has no array {name:?}"))
    }

    /// Field `name`, parsed.
    pub fn get<T: FromStr>(&self, name: &str) -> Result<T, String> {
        let v = self
            .fields
            .get(name)
            .ok_or_else(|| format!("the saved state has no field {name:?}"))?;
        v.parse()
            .map_err(|_| format!("the saved state's field {name:?} is not readable: {v:?}"))
    }

    /// An optional field written by [`Snapshot::set_opt`].
    pub fn get_opt<T: FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        match self.fields.get(name).map(String::as_str) {
            Some("") => Ok(None),
            _ => self.get(name).map(Some),
        }
    }

    /// Rows of any widths: their values one after the other, and their lengths.
    pub fn put_rows(&mut self, name: &str, rows: &[Vec<f64>]) {
        self.put(
            format!("{name}#len"),
            rows.iter().map(|r| r.len() as f64).collect(),
        );
        self.put(name, rows.concat());
    }

    pub fn take_rows(&mut self, name: &str) -> Result<Vec<Vec<f64>>, String> {
        let lens = self.take(&format!("{name}#len"))?;
        let flat = self.take(name)?;
        let mut at = 0;
        let mut rows = Vec::with_capacity(lens.len());
        for l in lens {
            let end = at + l as usize;
            let row = flat
                .get(at..end)
                .ok_or_else(|| format!("the saved rows {name:?} are shorter than their lengths"))?;
            rows.push(row.to_vec());
            at = end;
        }
        Ok(rows)
    }

    /// Writes the state as safetensors (one 1-D f64 tensor per array, the fields as metadata),
    /// through a temporary file and a rename: a reader never sees half a state.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        use safetensors::tensor::{Dtype, TensorView};
        let bytes: Vec<(&String, Vec<u8>)> = self
            .arrays
            .iter()
            .map(|(k, v)| (k, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
            .collect();
        let views: Vec<(String, TensorView<'_>)> = bytes
            .iter()
            .map(|(k, b)| {
                TensorView::new(Dtype::F64, vec![b.len() / 8], b).map(|v| ((*k).clone(), v))
            })
            .collect::<Result<_, _>>()
            .map_err(std::io::Error::other)?;
        let meta: std::collections::HashMap<String, String> =
            self.fields.clone().into_iter().collect();
        let out = safetensors::serialize(views, Some(meta)).map_err(std::io::Error::other)?;
        crate::files::write_atomic(path, &out)
    }

    pub fn read(path: &Path) -> Result<Snapshot, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read it ({e})"))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| format!("not a groklab state file ({e})"))?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| format!("not a groklab state file ({e})"))?;
        let mut s = Snapshot::default();
        for (name, view) in st.tensors() {
            if view.dtype() != safetensors::tensor::Dtype::F64 {
                return Err(format!("array {name:?} is not f64"));
            }
            let v = view
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
                .collect();
            s.arrays.insert(name, v);
        }
        if let Some(m) = meta.metadata() {
            s.fields = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_survives_a_file_bit_for_bit() {
        let mut s = Snapshot::default();
        s.put("a", vec![1.5, f64::NAN, -0.0, 1e-300, 0.1f32 as f64]);
        s.put("empty", vec![]);
        s.put_rows("rows", &[vec![1.0, 2.0], vec![], vec![3.0]]);
        s.set("step", 17);
        s.set_opt::<usize>("none", None);
        s.set_opt("some", Some(3usize));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.safetensors");
        s.write(&p).unwrap();
        let mut r = Snapshot::read(&p).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&r.arrays["a"]), bits(&s.arrays["a"]));
        assert_eq!(r.get::<usize>("step"), Ok(17));
        assert_eq!(r.get_opt::<usize>("none"), Ok(None));
        assert_eq!(r.get_opt::<usize>("some"), Ok(Some(3)));
        assert_eq!(
            r.take_rows("rows").unwrap(),
            vec![vec![1.0, 2.0], vec![], vec![3.0]]
        );
        assert!(r.take("missing").unwrap_err().contains("missing"));
    }
}
