//! One build for the commands that need a bundle before they start (`run`, `sim`, `push`): find the
//! project, build it, print its diagnostics. The compile VM is stopped before returning.

use std::path::Path;

use avmd_engine::assemble::Bundle;
use avmd_engine::build::Engine;
use avmd_engine::project::Project;

/// The project and its bundle; `None` (with the reason printed) when there is none to use.
/// `what` ends the failure line: "nothing to run".
pub fn build(path: &Path, what: &str) -> anyhow::Result<Option<(Project, Bundle)>> {
    let project = match Project::discover(path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("avmd: error: {e}");
            return Ok(None);
        }
    };
    let mut engine = Engine::open(project.clone())?;
    let outcome = engine.build()?;
    for d in &outcome.diagnostics {
        eprintln!("{}", d.render());
    }
    match outcome.bundle {
        Some(bundle) => Ok(Some((project, bundle))),
        None => {
            eprintln!("avmd: build failed; {what}");
            Ok(None)
        }
    }
}
