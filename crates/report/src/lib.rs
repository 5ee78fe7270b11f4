//! SVG plots and static HTML pages for eyes. This crate knows nothing of training: it draws named
//! series of numbers, and [`table`] reads the CSV files that runs and sweeps write, so
//! `groklab report DIR` can redraw any run or sweep and write its page.

pub mod compare;
pub mod comparison;
pub mod files;
pub mod html;
pub mod plot;
pub mod run;
pub mod sweep;
pub mod table;

pub use plot::{
    Axis, CategoryMap, Heatmap, Series, category_map, heatmap, line_plot, line_plot_over,
    scatter_labelled,
};
pub use table::Table;
