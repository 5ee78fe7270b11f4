//! End-to-end tests of `groklab repro merrill2023`: one full seed of the paper's setting (about three
//! seconds on the fused path) must grok through a sparse subnetwork, and every figure and table the
//! command promises must be written.

mod common;

use common::{groklab, json, stderr};

const FIGURES: &[&str] = &[
    "accuracy",
    "loss",
    "norms",
    "faithfulness",
    "largest-neuron",
    "neuron-norms",
];

#[test]
fn one_seed_groks_through_a_sparse_subnetwork_and_draws_every_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m");
    let o = groklab(
        &[
            "repro",
            "merrill2023",
            "--seeds",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
        tmp.path(),
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let j = json(&o);
    let run = &j["runs"][0];
    // The paper: the test accuracy jumps to 1 and the final subnetwork is a handful of neurons
    // (6 to 8 of 1000 in its five seeds) once the dense memorising solution has been pruned away.
    assert_eq!(run["final"]["val_acc"].as_f64(), Some(1.0), "{run}");
    let size = run["final_subnetwork_size"].as_f64().unwrap();
    assert!((3.0..=20.0).contains(&size), "subnetwork of {size}");
    let memorised = run["memorization_epoch"].as_f64().unwrap();
    let jump = run["test_jump_epoch"].as_f64().unwrap();
    assert!(memorised < jump, "memorised at {memorised}, jump at {jump}");
    assert!(
        run["sparsity_drop_factor"].as_f64().unwrap() > 10.0,
        "{run}"
    );

    for f in FIGURES {
        let svg = std::fs::read_to_string(out.join(format!("seed0-{f}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{f}");
    }
    let sizes = std::fs::read_to_string(out.join("sizes.csv")).unwrap();
    let rows: Vec<&str> = sizes.lines().collect();
    assert_eq!(rows.len(), 2, "{sizes}");
    assert!(rows[0].starts_with("seed,final_subnetwork_size,"));
    assert!(rows[1].starts_with(&format!("0,{size},")), "{sizes}");
    // the paper's sizes beside ours, the verdict computed from them
    let cmp = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    let lines: Vec<&str> = cmp.lines().collect();
    assert_eq!(lines.len(), 4, "{cmp}");
    assert!(lines[0].starts_with("paper,figure,quantity,published,ours,unit,verdict"));
    let verdict = if (size - 6.8).abs() <= 1.0 {
        "reproduced"
    } else if (size - 6.8).abs() <= 3.0 {
        "close"
    } else {
        "differs"
    };
    assert!(
        lines[1].contains(&format!(",6.8,{size},neurons,{verdict},")),
        "{cmp}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("seed0-neuron-norms.svg") && html.contains("runs/seed0/index.html"));
    for f in [
        "subnetworks.csv",
        "neuron_norms.csv",
        "generalising_neurons.csv",
    ] {
        assert!(out.join("runs/seed0").join(f).is_file(), "{f}");
    }
}

#[test]
fn bad_arguments_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("notes.txt"), "mine").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--preset", "liu2022-toy"], "liu2022-toy"),
        (&["--preset", "nope"], "nope"),
        (&["--seeds", "0"], "--seeds"),
        (&["--out", full.to_str().unwrap()], "not empty"),
    ];
    for (args, named) in cases {
        let mut all = vec!["repro", "merrill2023"];
        all.extend_from_slice(args);
        let o = groklab(&all, tmp.path());
        assert_eq!(o.status.code(), Some(2), "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(named), "{all:?}: {}", stderr(&o));
    }
    assert!(!tmp.path().join("runs").exists(), "nothing written");
    assert_eq!(
        std::fs::read_to_string(full.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
}
