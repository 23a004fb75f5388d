//! `avmd key new|show|rotate [PATH]`: the project's OTA signing key (docs/ota.md). The private key
//! goes to the key directory outside the repository; the project gets `ota.pub`, which every build
//! packs so devices can check what they are sent.

use std::path::PathBuf;

use avmd_engine::ota_pub;
use avmd_engine::project::Project;

use crate::ota::keys;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand)]
pub enum Action {
    /// Create the project's key pair: ota.pub in the project, the private key in the key directory.
    New {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Print the project's key id and where its private key is.
    Show {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Replace the project's key. Devices keep trusting the old key until a build carrying the new
    /// ota.pub reaches them (pushes sign with the key each device names, so keep the old private key).
    Rotate {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let (path, action) = match &args.action {
        Action::New { path } => (path, "new"),
        Action::Show { path } => (path, "show"),
        Action::Rotate { path } => (path, "rotate"),
    };
    let project = match Project::discover(path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("avmd: error: {e}");
            return Ok(1);
        }
    };
    match action {
        "show" => match ota_pub::read(&project.root) {
            Ok(Some(key)) => {
                let private = keys::private_key_path(&key.id());
                println!("key id      {}", key.id());
                println!("public key  {}", project.root.join(ota_pub::FILE).display());
                println!(
                    "private key {} ({})",
                    private.display(),
                    if private.exists() {
                        "present"
                    } else {
                        "MISSING: restore it from your backup to push"
                    }
                );
                Ok(0)
            }
            Ok(None) => {
                eprintln!(
                    "avmd: {} has no OTA key; `avmd key new` makes one",
                    project.root.display()
                );
                Ok(1)
            }
            Err((line, msg)) => {
                eprintln!(
                    "{}:{line}: error: {msg}",
                    project.root.join(ota_pub::FILE).display()
                );
                Ok(1)
            }
        },
        _ => {
            let old = ota_pub::read(&project.root).ok().flatten();
            let (key, private) = match keys::create(&project.root, action == "rotate") {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("avmd: error: {e:#}");
                    return Ok(1);
                }
            };
            println!("key id      {}", key.id());
            println!(
                "public key  {} (commit it: every build packs it)",
                project.root.join(ota_pub::FILE).display()
            );
            println!(
                "private key {} (back it up: without it no device running this key's builds can be updated)",
                private.display()
            );
            if let Some(old) = old {
                println!(
                    "replaced    {} (keep {}: devices trust it until they run a build with the new key)",
                    old.id(),
                    keys::private_key_path(&old.id()).display()
                );
            }
            Ok(0)
        }
    }
}
