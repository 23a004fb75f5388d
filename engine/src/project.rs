//! The project model: which app a directory holds, its start module, device profile, app partition and
//! extra `.avm` libraries. Found from `avmd.toml` (preferred), `rebar.config` (+ `src/*.app.src`) or
//! `mix.exs`. Pure reading of files; nothing is compiled or started here.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// AtomVM's default `main.avm` data partition on ESP32 (FACTS.md "Boot, flash layout").
pub const DEFAULT_PARTITION_SIZE: u64 = 1024 * 1024;
pub use crate::profile::Profile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectKind {
    Avmd,
    Rebar,
    Mix,
}

/// The project files avmd reads, in the order it looks for them in a directory.
pub const PROJECT_FILES: [&str; 3] = ["avmd.toml", "rebar.config", "mix.exs"];

impl ProjectKind {
    /// The name of this kind's project file.
    pub fn file_name(self) -> &'static str {
        match self {
            ProjectKind::Avmd => PROJECT_FILES[0],
            ProjectKind::Rebar => PROJECT_FILES[1],
            ProjectKind::Mix => PROJECT_FILES[2],
        }
    }
}

/// Whether `name` is one of the project files avmd reads.
pub fn is_project_file(name: &str) -> bool {
    PROJECT_FILES.contains(&name)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub root: PathBuf,
    /// The OTP application name; priv files are packed as `App/priv/Path`.
    pub app: String,
    /// The module whose `start/0` the device calls (for Elixir: `Elixir.Foo`).
    pub start_module: String,
    /// Device profile: the platform the compat check uses, the runtime's limits (`crate::profile`).
    pub profile: Profile,
    /// Size of the app partition the bundle must fit in.
    pub partition_size: u64,
    /// Prebuilt `.avm` libraries appended to the bundle (absolute paths).
    pub extra_avms: Vec<PathBuf>,
    pub kind: ProjectKind,
    /// Bundle avmd's HTTP runtime library (default true).
    pub bundle_runtime: bool,
    /// Drop `Line` chunks from device beams (smaller, but stack traces lose lines).
    pub strip_lines: bool,
    /// Bundle every runtime module, not only those the app reaches (`runtime_modules = "all"`).
    pub all_runtime_modules: bool,
    /// The app's version (`version` in avmd.toml), reported by `/_avm/info` on an OTA-enabled device.
    pub version: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("{0}: no avmd.toml, rebar.config or mix.exs found")]
    NotFound(PathBuf),
    #[error("{}{}: {message}", path.display(), if *line > 0 { format!(":{line}") } else { String::new() })]
    Invalid {
        path: PathBuf,
        /// 1-based line of the problem, 0 when it belongs to the whole file.
        line: u32,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The `avmd.toml` schema. Every key but `name` is optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AvmdToml {
    name: String,
    start: Option<String>,
    profile: Option<String>,
    partition_size: Option<u64>,
    #[serde(default)]
    extra_avms: Vec<String>,
    bundle_runtime: Option<bool>,
    strip_lines: Option<bool>,
    runtime_modules: Option<String>,
    version: Option<String>,
}

impl Project {
    /// Finds the project at `path`: the nearest of `path` and its parents that holds a project file (so a
    /// source file or a subdirectory of a project finds it too).
    pub fn discover(path: &Path) -> Result<Project, ProjectError> {
        let dir = if path.is_file() {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.to_path_buf()
        };
        if !dir.is_dir() {
            return Err(ProjectError::Io {
                path: dir,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            });
        }
        let root = dir.canonicalize().map_err(|source| ProjectError::Io {
            path: dir.clone(),
            source,
        })?;
        for dir in root.ancestors() {
            let found = if dir.join("avmd.toml").is_file() {
                Self::from_avmd_toml(dir)
            } else if dir.join("rebar.config").is_file() {
                Self::from_rebar(dir)
            } else if dir.join("mix.exs").is_file() {
                Self::from_mix(dir)
            } else {
                continue;
            };
            return found.and_then(|p| p.with_profile_override(std::env::var("AVMD_PROFILE").ok()));
        }
        Err(ProjectError::NotFound(root))
    }

    /// `AVMD_PROFILE=pico_w` checks and runs the project as another board would, without editing its
    /// project file (the editor's `avmd.profile` setting sets it for the server and every command).
    /// Empty or unset: the project's own profile.
    pub fn with_profile_override(
        mut self,
        profile: Option<String>,
    ) -> Result<Project, ProjectError> {
        match profile.as_deref().map(str::trim) {
            None | Some("") => Ok(self),
            Some(name) => {
                self.profile = name.parse().map_err(|e: crate::profile::UnknownProfile| {
                    ProjectError::Invalid {
                        path: self.project_file(),
                        line: 0,
                        message: format!("AVMD_PROFILE: {e}"),
                    }
                })?;
                Ok(self)
            }
        }
    }

    fn base(root: &Path, app: String, start: String, kind: ProjectKind) -> Project {
        Project {
            root: root.to_path_buf(),
            app,
            start_module: start,
            profile: Profile::default(),
            partition_size: DEFAULT_PARTITION_SIZE,
            extra_avms: Vec::new(),
            kind,
            bundle_runtime: true,
            strip_lines: false,
            all_runtime_modules: false,
            version: None,
        }
    }

    fn from_avmd_toml(root: &Path) -> Result<Project, ProjectError> {
        let path = root.join("avmd.toml");
        let text = read(&path)?;
        let invalid = |message: String| ProjectError::Invalid {
            path: path.clone(),
            line: 0,
            message,
        };
        let t: AvmdToml = toml::from_str(&text).map_err(|e| ProjectError::Invalid {
            path: path.clone(),
            // the line the parser points at (its span), so editors and `avmd build` show it there
            line: e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() as u32 + 1
            }),
            message: e.message().to_string(),
        })?;
        check_name(&t.name).map_err(|m| invalid(format!("name: {m}")))?;
        let start = t.start.unwrap_or_else(|| t.name.clone());
        check_module_name(&start).map_err(|m| invalid(format!("start: {m}")))?;
        let mut p = Self::base(root, t.name, start, ProjectKind::Avmd);
        if let Some(profile) = t.profile {
            p.profile = profile
                .parse()
                .map_err(|e: crate::profile::UnknownProfile| invalid(e.to_string()))?;
        }
        if let Some(size) = t.partition_size {
            if size == 0 {
                return Err(invalid("partition_size must be > 0".into()));
            }
            p.partition_size = size;
        }
        p.extra_avms = t.extra_avms.iter().map(|a| root.join(a)).collect();
        p.bundle_runtime = t.bundle_runtime.unwrap_or(true);
        p.strip_lines = t.strip_lines.unwrap_or(false);
        p.version = t.version;
        p.all_runtime_modules = match t.runtime_modules.as_deref() {
            None | Some("used") => false,
            Some("all") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "runtime_modules = {other:?}: expected \"used\" (the default) or \"all\""
                )))
            }
        };
        Ok(p)
    }

    /// rebar3 + atomvm_rebar3_plugin: the app name from `src/*.app.src`, the start module from the
    /// plugin's `{start, Mod}` option (default: the app name).
    fn from_rebar(root: &Path) -> Result<Project, ProjectError> {
        let config_path = root.join("rebar.config");
        let config = read(&config_path)?;
        let app = app_src_name(root)?.ok_or_else(|| ProjectError::Invalid {
            path: root.join("src"),
            line: 0,
            message: "no src/*.app.src with {application, Name, ...}".into(),
        })?;
        let start = find_after(&config, "{start,")
            .map(|s| take_atom(s.trim_start()))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| app.clone());
        Ok(Self::base(root, app, start, ProjectKind::Rebar))
    }

    /// Mix + ExAtomVM: `app: :name` and `start: Module` from mix.exs.
    fn from_mix(root: &Path) -> Result<Project, ProjectError> {
        let path = root.join("mix.exs");
        let text = read(&path)?;
        let app = find_after(&text, "app:")
            .and_then(|s| s.trim_start().strip_prefix(':').map(take_atom))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ProjectError::Invalid {
                path: path.clone(),
                line: 0,
                message: "no `app: :name` in project/0".into(),
            })?;
        let start = find_after(&text, "start:")
            .map(|s| {
                let s = s.trim_start();
                match s.strip_prefix(':') {
                    Some(atom) => take_atom(atom),
                    None => format!("Elixir.{}", take_alias(s)),
                }
            })
            .filter(|s| !s.is_empty() && s != "Elixir.")
            .unwrap_or_else(|| app.clone());
        Ok(Self::base(root, app, start, ProjectKind::Mix))
    }

    /// Directories whose contents make up the bundle: `src include lib priv` (those that exist).
    pub fn source_dirs(&self) -> Vec<PathBuf> {
        ["src", "include", "lib", "priv"]
            .iter()
            .map(|d| self.root.join(d))
            .filter(|d| d.is_dir())
            .collect()
    }

    /// Where build outputs go: `root/_build/avmd`.
    pub fn build_dir(&self) -> PathBuf {
        self.root.join("_build").join("avmd")
    }

    /// The project's own file (`avmd.toml`, `rebar.config` or `mix.exs`), where diagnostics about no
    /// source file in particular go.
    pub fn project_file(&self) -> PathBuf {
        self.root.join(self.kind.file_name())
    }

    /// The bundle path `root/_build/avmd/<app>.avm`.
    pub fn bundle_path(&self) -> PathBuf {
        self.build_dir().join(format!("{}.avm", self.app))
    }
}

fn read(path: &Path) -> Result<String, ProjectError> {
    std::fs::read_to_string(path).map_err(|source| ProjectError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// App names become atoms and file names: lowercase letter, then `[a-z0-9_]`.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() => {}
        _ => return Err(format!("{name:?} must start with a lowercase letter")),
    }
    if chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        Ok(())
    } else {
        Err(format!("{name:?} may only hold a-z, 0-9 and _"))
    }
}

/// A start module is an Erlang module name or an Elixir alias (`Elixir.Foo.Bar`).
fn check_module_name(name: &str) -> Result<(), String> {
    if let Some(alias) = name.strip_prefix("Elixir.") {
        if !alias.is_empty()
            && alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Ok(());
        }
        return Err(format!("{name:?} is not a valid Elixir module name"));
    }
    check_name(name)
}

/// The app name from the first `src/*.app.src` (sorted, so discovery is deterministic).
fn app_src_name(root: &Path) -> Result<Option<String>, ProjectError> {
    let src = root.join("src");
    let Ok(entries) = std::fs::read_dir(&src) else {
        return Ok(None);
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".app.src"))
        .collect();
    files.sort();
    for f in files {
        let text = read(&f)?;
        if let Some(rest) = find_after(&text, "{application,") {
            let name = take_atom(rest.trim_start());
            if !name.is_empty() {
                return Ok(Some(name));
            }
        }
    }
    Ok(None)
}

/// The text after the first occurrence of `needle`, ignoring whitespace inside `needle`'s comma.
fn find_after<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    // Match `{start, x}` and `{start,x}` alike by searching for the needle without spaces.
    let compact = needle.replace(' ', "");
    let idx = text.find(&compact).map(|i| i + compact.len());
    idx.map(|i| &text[i..]).or_else(|| {
        let head = compact.trim_end_matches(',');
        let i = text.find(head)?;
        let rest = text[i + head.len()..].trim_start();
        rest.strip_prefix(',')
    })
}

fn take_atom(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

fn take_alias(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("hello_web").is_ok());
        assert!(check_name("Hello").is_err());
        assert!(check_name("a-b").is_err());
        assert!(check_module_name("Elixir.Hello.Web").is_ok());
    }

    #[test]
    fn a_profile_override_replaces_the_projects_and_a_bad_one_is_named() {
        let dir =
            std::env::temp_dir().join(format!("avmd-profile-override-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("avmd.toml"),
            "name = \"app\"\nprofile = \"esp32\"\n",
        )
        .unwrap();
        let p = Project::from_avmd_toml(&dir).unwrap();
        assert_eq!(
            p.clone().with_profile_override(None).unwrap().profile,
            Profile::Esp32
        );
        assert_eq!(
            p.clone()
                .with_profile_override(Some(" ".into()))
                .unwrap()
                .profile,
            Profile::Esp32
        );
        let pico = p
            .clone()
            .with_profile_override(Some("pico_w".into()))
            .unwrap();
        assert_eq!(pico.profile.platform(), crate::compat::Platform::Rp2);
        match p.with_profile_override(Some("z80".into())) {
            Err(ProjectError::Invalid { message, .. }) => {
                assert!(message.starts_with("AVMD_PROFILE: "), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn find_after_handles_spacing() {
        assert_eq!(
            find_after("{start, foo}", "{start,").map(|s| take_atom(s.trim_start())),
            Some("foo".into())
        );
        assert_eq!(
            find_after("{start,foo}", "{start,").map(take_atom),
            Some("foo".into())
        );
    }
}
