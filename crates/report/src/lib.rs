//! SVG plots for eyes. This crate knows nothing of training: it draws named series of numbers, and
//! [`table`] reads the CSV files that runs write, so `groklab report DIR` can redraw any run.

pub mod plot;
pub mod run;
pub mod table;

pub use plot::{Axis, Heatmap, Series, heatmap, line_plot, scatter_labelled};
pub use table::Table;
