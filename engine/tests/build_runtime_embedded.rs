//! The binary carries the runtime library it was built with: the core modules must be embedded (the
//! build script skips runtime files that fail to compile, so this is where a real break shows).

use avmd_engine::runtime_lib;

#[test]
fn core_runtime_modules_are_embedded() {
    let names: Vec<&str> = runtime_lib::device_modules()
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let missing: Vec<&&str> = runtime_lib::CORE_MODULES
        .iter()
        .filter(|m| !names.contains(m))
        .collect();
    assert!(
        missing.is_empty(),
        "runtime modules missing from the binary: {missing:?}; skipped at build time: {:?}",
        runtime_lib::skipped()
    );
}
