//! Build benchmark (run by bench/build/run.sh): (1) a one-module change rebuilt by a warm engine vs one
//! cold `erlc` of that module, (2) a full build of a generated 50-module project by a fresh engine vs cold
//! `erlc` of the same files (one erlc run for all, and one run per file as per-module tooling does).
//! Both baselines are measured in the same run; the figures are medians of several rounds.

use avmd_engine::build::Engine;
use avmd_engine::project::Project;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const MODULES: usize = 50;
const ROUNDS: usize = 5;

fn module_source(i: usize, version: usize) -> String {
    let next = (i + 1) % MODULES;
    format!(
        "-module(m{i}).\n-export([start/0, f/1, g/2, h/1]).\n\n\
         start() -> f(1).\n\n\
         f(X) when is_integer(X) -> g(X, [a, b, c]) + {version};\n\
         f(_) -> 0.\n\n\
         g(X, L) ->\n    Y = lists:foldl(fun(E, Acc) -> Acc + byte_size(atom_to_binary(E, utf8)) end, X, L),\n    \
         case Y rem 2 of\n        0 -> m{next}:h(Y);\n        _ -> length(lists:reverse(L)) + Y\n    end.\n\n\
         h(Y) -> #{{y => Y, list => [Y, Y + 1]}}.\n"
    )
}

fn generate(root: &Path) {
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("avmd.toml"),
        "name = \"benchapp\"\nstart = \"m0\"\nprofile = \"generic_unix\"\n",
    )
    .unwrap();
    for i in 0..MODULES {
        std::fs::write(root.join(format!("src/m{i}.erl")), module_source(i, 0)).unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn erlc(files: &[PathBuf], out: &Path) -> Duration {
    let t = Instant::now();
    let st = Command::new("erlc")
        .arg("-o")
        .arg(out)
        .args(files)
        .status()
        .expect("erlc");
    assert!(st.success());
    t.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let root = std::env::temp_dir().join(format!("avmd-bench-build-{}", std::process::id()));
    generate(&root);
    let out = root.join("_erlc");
    std::fs::create_dir_all(&out).unwrap();
    let files: Vec<PathBuf> = (0..MODULES)
        .map(|i| root.join(format!("src/m{i}.erl")))
        .collect();

    // (2) Full builds: a fresh engine each round (compile VM boot included) vs cold erlc.
    let mut full = Vec::new();
    let mut erlc_all = Vec::new();
    let mut erlc_each = Vec::new();
    for _ in 0..ROUNDS {
        let _ = std::fs::remove_dir_all(root.join("_build"));
        let t = Instant::now();
        let mut engine = Engine::open(Project::discover(&root).unwrap()).unwrap();
        let o = engine.build().unwrap();
        full.push(t.elapsed());
        assert!(o.bundle.is_some(), "{:?}", o.diagnostics);
        assert_eq!(o.n_compiled, MODULES);
        erlc_all.push(erlc(&files, &out));
        let t = Instant::now();
        for f in &files {
            erlc(std::slice::from_ref(f), &out);
        }
        erlc_each.push(t.elapsed());
    }

    // (1) One-module change on a warm engine (compile + strip + compat + pack + write) vs one cold erlc.
    let mut engine = Engine::open(Project::discover(&root).unwrap()).unwrap();
    engine.build().unwrap();
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    for round in 1..=ROUNDS * 2 {
        std::fs::write(&files[7], module_source(7, round)).unwrap();
        let t = Instant::now();
        let o = engine.build().unwrap();
        warm.push(t.elapsed());
        assert_eq!(o.n_compiled, 1);
        cold.push(erlc(std::slice::from_ref(&files[7]), &out));
    }

    let (w, c) = (median(warm), median(cold));
    let (f, ea, ee) = (median(full), median(erlc_all), median(erlc_each));
    println!("avmd build benchmark ({MODULES} generated modules, medians of {ROUNDS}+ rounds)");
    println!(
        "(1) one-module change: warm engine {:.1} ms vs cold erlc {:.1} ms  -> ratio {:.3} (goal <= 0.25)",
        ms(w),
        ms(c),
        ms(w) / ms(c)
    );
    println!(
        "(2) full build: fresh engine {:.1} ms vs one erlc run {:.1} ms -> ratio {:.2}; vs erlc per file {:.1} ms -> ratio {:.3}",
        ms(f),
        ms(ea),
        ms(f) / ms(ea),
        ms(ee),
        ms(f) / ms(ee)
    );
    let _ = std::fs::remove_dir_all(&root);
}
