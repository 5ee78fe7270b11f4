//! A safetensors file as (name, dtype, shape, bytes): numpy builds the arrays on the Python side
//! (`numpy.frombuffer`), so no array crate is linked here.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

type Tensor<'py> = (String, String, Vec<usize>, Bound<'py, PyBytes>);

/// Every tensor of a safetensors file, in the file's order.
#[pyfunction]
pub fn read_safetensors<'py>(py: Python<'py>, path: &str) -> PyResult<Vec<Tensor<'py>>> {
    let bytes = std::fs::read(path)
        .map_err(|e| super::errors::GroklabError::new_err(format!("cannot read {path}: {e}")))?;
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
        super::errors::GroklabError::new_err(format!("{path} is not a safetensors file: {e}"))
    })?;
    let mut all = file.tensors();
    // the file's order (offsets), not the hash map's
    all.sort_by_key(|(_, view)| view.data().as_ptr() as usize);
    Ok(all
        .into_iter()
        .map(|(name, view)| {
            let dtype = format!("{:?}", view.dtype());
            (
                name,
                dtype,
                view.shape().to_vec(),
                PyBytes::new(py, view.data()),
            )
        })
        .collect())
}
