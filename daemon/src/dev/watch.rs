//! The file watcher of `avmd dev`: `notify` (inotify on Linux) with a 50 ms trailing debounce of our
//! own, watching the project's source directories recursively and the project root non-recursively (for
//! the project file and for source directories created later). Editor temp, lock and swap files and
//! `_build/` are ignored; a save by temp file + rename shows up as the rename's target. Relevant changes
//! are sent on as one batch of paths per burst; the build loop coalesces batches that pile up while it
//! builds.
//!
//! Why not `notify-debouncer-full`: its loop thread wakes every timeout/4 (12.5 ms) for as long as the
//! watcher lives — measured at ~75 wakeups/s and 0.4 % CPU with nothing happening — while a dev daemon
//! left open all day should cost nothing idle. Here the thread blocks on the event channel and only
//! uses a timeout while a burst is settling. (We need no rename pairing or file ids: any relevant path
//! in a burst means "rebuild".)

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};

/// A burst of events is over when this long passes without another one.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// A burst that never settles (a tool rewriting files in a loop) is still cut into batches this long,
/// so builds keep happening.
pub const MAX_BURST: Duration = Duration::from_millis(1000);

/// Directories under the project root whose changes trigger a build.
pub const SOURCE_DIRS: [&str; 4] = ["src", "include", "lib", "priv"];

/// Project files at the root whose changes trigger a build.
pub use avmd_engine::project::PROJECT_FILES;

/// What the watcher tells the build loop.
#[derive(Debug)]
pub enum WatchEvent {
    /// Relevant paths changed (deduplicated, sorted).
    Changed(Vec<PathBuf>),
    /// The watcher hit a problem worth showing (e.g. out of inotify watches); it keeps running.
    Warning(String),
    /// Not from the watcher: the daemon is shutting down (sent on the same channel by Ctrl-C).
    Stop,
}

/// True for files editors create around a save, which must not set off a build: Emacs lock `.#x` and
/// autosave `#x#`, backups `x~`, Vim swap `.x.swp`/`.swo`/`.swx` and its write test `4913`, GNOME's
/// `.goutputstream-*`, JetBrains' `x___jb_tmp___`/`x___jb_old___`, Kate's `x.kate-swp`, `*.tmp`, `.DS_Store`.
pub fn is_editor_temp(name: &str) -> bool {
    name.is_empty()
        || name.starts_with(".#")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swo")
        || name.ends_with(".swx")
        || name == "4913"
        || name.starts_with(".goutputstream-")
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
        || name.ends_with(".kate-swp")
        || name.ends_with(".tmp")
        || name == ".DS_Store"
}

/// Whether a change at `path` should set off a build of the project at `root`: a file (or directory)
/// under one of [`SOURCE_DIRS`] or one of [`PROJECT_FILES`] at the root, not an editor temp file, and
/// nothing under `_build/` (the build's own output would otherwise trigger builds forever).
pub fn is_relevant(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let parts: Vec<&str> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.iter().any(|p| *p == "_build" || *p == ".git") || is_editor_temp(last) {
        return false;
    }
    if parts.len() == 1 {
        return PROJECT_FILES.contains(first) || SOURCE_DIRS.contains(first);
    }
    SOURCE_DIRS.contains(first)
}

/// Whether an event kind is a change of content or of the tree. Reads are not: the build itself
/// opens every source and priv file, and inotify reports those opens and closes (`Access`), which
/// would otherwise set off a build after every build. Metadata changes (atime, chmod) are not either.
pub fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        // A file opened for writing was closed: its content may have changed.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Any | EventKind::Other => true,
    }
}

/// The warning shown when the OS runs out of inotify watches (ENOSPC from inotify_add_watch).
pub fn out_of_watches_message(path: &Path) -> String {
    format!(
        "the OS ran out of file watches while watching {} — changes there will not be seen. \
         Raise the limit, e.g. `sudo sysctl fs.inotify.max_user_watches=524288` \
         (and fs.inotify.max_user_instances), then restart avmd dev",
        path.display()
    )
}

fn describe_error(err: &notify::Error, fallback: &Path) -> String {
    match err.kind {
        notify::ErrorKind::MaxFilesWatch => {
            out_of_watches_message(err.paths.first().map(PathBuf::as_path).unwrap_or(fallback))
        }
        _ => format!("file watcher: {err}"),
    }
}

/// A running watcher; dropping it stops the OS watches, which ends its thread.
pub struct ProjectWatcher {
    _watcher: Arc<Mutex<notify::RecommendedWatcher>>,
}

impl ProjectWatcher {
    /// Starts watching the project at `root`: [`SOURCE_DIRS`] plus any other `source_dirs`.
    /// Events go to `tx`; keep the returned watcher alive as long as they should.
    pub fn start(
        root: &Path,
        source_dirs: &[PathBuf],
        tx: Sender<WatchEvent>,
    ) -> anyhow::Result<ProjectWatcher> {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let (raw_tx, raw_rx) = mpsc::channel::<notify::Result<notify::Event>>();
        let mut watcher = notify::recommended_watcher(move |ev| {
            let _ = raw_tx.send(ev);
        })?;
        // The root non-recursively: the project file, and source directories that appear later.
        watcher
            .watch(&root, RecursiveMode::NonRecursive)
            .map_err(|e| anyhow::anyhow!(describe_error(&e, &root)))?;
        // The standard directories always, so that one created later is picked up.
        let mut dirs: Vec<PathBuf> = SOURCE_DIRS.iter().map(|d| root.join(d)).collect();
        for d in source_dirs {
            let d = if d.is_absolute() {
                d.clone()
            } else {
                root.join(d)
            };
            let d = d.canonicalize().unwrap_or(d);
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
        let mut watched = BTreeSet::new();
        watch_existing(&mut watcher, &dirs, &mut watched, &tx, &root);
        let shared = Arc::new(Mutex::new(watcher));
        // The thread holds only a weak reference: dropping the ProjectWatcher drops the OS watcher,
        // which drops `raw_tx` and so ends the thread.
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("avmd-watch".into())
            .spawn(move || forward(raw_rx, root, tx, weak, dirs, watched))?;
        Ok(ProjectWatcher { _watcher: shared })
    }
}

fn watch_existing(
    watcher: &mut notify::RecommendedWatcher,
    dirs: &[PathBuf],
    watched: &mut BTreeSet<PathBuf>,
    tx: &Sender<WatchEvent>,
    root: &Path,
) {
    for dir in dirs {
        if !dir.is_dir() || watched.contains(dir) {
            continue;
        }
        match watcher.watch(dir, RecursiveMode::Recursive) {
            Ok(()) => {
                tracing::debug!(dir = %dir.display(), "watching");
                watched.insert(dir.clone());
            }
            Err(err) => {
                let _ = tx.send(WatchEvent::Warning(describe_error(&err, root)));
            }
        }
    }
}

/// Blocks until an event arrives, then gathers the rest of its burst: until [`DEBOUNCE`] passes
/// with no event, or [`MAX_BURST`] since the first. `None` when the watcher is gone.
fn next_burst(
    raw_rx: &Receiver<notify::Result<notify::Event>>,
) -> Option<Vec<notify::Result<notify::Event>>> {
    let first = raw_rx.recv().ok()?;
    let started = Instant::now();
    let mut burst = vec![first];
    loop {
        let left = MAX_BURST.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Some(burst);
        }
        match raw_rx.recv_timeout(DEBOUNCE.min(left)) {
            Ok(ev) => burst.push(ev),
            Err(RecvTimeoutError::Timeout) => return Some(burst),
            Err(RecvTimeoutError::Disconnected) => return Some(burst),
        }
    }
}

fn forward(
    raw_rx: Receiver<notify::Result<notify::Event>>,
    root: PathBuf,
    tx: Sender<WatchEvent>,
    watcher: Weak<Mutex<notify::RecommendedWatcher>>,
    dirs: Vec<PathBuf>,
    mut watched: BTreeSet<PathBuf>,
) {
    while let Some(burst) = next_burst(&raw_rx) {
        let mut changed = BTreeSet::new();
        let mut born = BTreeSet::new();
        let mut new_dir = false;
        for result in burst {
            match result {
                Ok(ev) if is_change(&ev.kind) => {
                    let creates = matches!(ev.kind, EventKind::Create(_));
                    for p in &ev.paths {
                        if is_relevant(&root, p) {
                            changed.insert(p.clone());
                            if creates {
                                born.insert(p.clone());
                            }
                        }
                        new_dir |= dirs.contains(p) && !watched.contains(p);
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    if tx
                        .send(WatchEvent::Warning(describe_error(&err, &root)))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        if new_dir {
            // A source directory was created after start (e.g. `include/`): watch it too.
            let Some(w) = watcher.upgrade() else { return };
            let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
            watch_existing(&mut w, &dirs, &mut watched, &tx, &root);
        }
        // A file that appeared and went again within the burst (an editor's or `sed -i`'s temp
        // file renamed over the real one) is not a change of its own.
        changed.retain(|p| !born.contains(p) || p.exists());
        if !changed.is_empty()
            && tx
                .send(WatchEvent::Changed(changed.into_iter().collect()))
                .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_temp_files_are_recognised() {
        for name in [
            ".#hello.erl",
            "#hello.erl#",
            "hello.erl~",
            ".hello.erl.swp",
            ".hello.erl.swo",
            "4913",
            ".goutputstream-ABC123",
            "hello.erl___jb_tmp___",
            "hello.erl.tmp",
            "x.kate-swp",
        ] {
            assert!(is_editor_temp(name), "{name} should be ignored");
        }
        for name in ["hello.erl", "index.html", "app.hrl", "mix.exs", "#", "4914"] {
            assert!(!is_editor_temp(name), "{name} should count");
        }
    }

    #[test]
    fn only_sources_and_the_project_file_are_relevant() {
        let root = Path::new("/p");
        let yes = [
            "/p/src/a.erl",
            "/p/src/sub/b.erl",
            "/p/include/a.hrl",
            "/p/priv/www/index.html",
            "/p/lib/x.ex",
            "/p/avmd.toml",
            "/p/rebar.config",
            "/p/mix.exs",
            "/p/src",
        ];
        for p in yes {
            assert!(is_relevant(root, Path::new(p)), "{p}");
        }
        let no = [
            "/p/_build/avmd/x.avm",
            "/p/src/_build/a.erl",
            "/p/README.md",
            "/p/test/a_tests.erl",
            "/p/src/.#a.erl",
            "/p/src/a.erl~",
            "/p/src/4913",
            "/q/src/a.erl",
            "/p",
            "/p/.git/index",
        ];
        for p in no {
            assert!(!is_relevant(root, Path::new(p)), "{p}");
        }
    }

    #[test]
    fn reads_and_metadata_are_not_changes() {
        use notify::event::{CreateKind, DataChange, MetadataKind, RenameMode};
        assert!(is_change(&EventKind::Create(CreateKind::File)));
        assert!(is_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Content
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Read
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!is_change(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
    }

    #[test]
    fn the_out_of_watches_warning_says_how_to_fix_it() {
        let m = out_of_watches_message(Path::new("/p/src"));
        assert!(
            m.contains("max_user_watches") && m.contains("/p/src"),
            "{m}"
        );
    }

    /// Waits (bounded) for the next `Changed` batch; `None` when none comes within `secs`.
    fn next_change(rx: &Receiver<WatchEvent>, secs: u64) -> Option<Vec<PathBuf>> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(WatchEvent::Changed(p)) => return Some(p),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    }

    /// Real inotify on a temp project: an in-place write, a save by temp file + rename, editor
    /// droppings (ignored), `_build/` (ignored) and a source directory created after start.
    #[test]
    fn sees_saves_in_place_and_by_rename_and_ignores_the_rest() {
        let root = std::env::temp_dir().join(format!("avmd-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("_build/avmd")).unwrap();
        std::fs::write(root.join("src/a.erl"), "-module(a).\n").unwrap();
        let root = root.canonicalize().unwrap();
        let (tx, rx) = mpsc::channel();
        let watcher = ProjectWatcher::start(&root, &[], tx).unwrap();
        let a = root.join("src/a.erl");

        std::fs::write(&a, "-module(a). % in place\n").unwrap();
        assert_eq!(next_change(&rx, 10), Some(vec![a.clone()]));

        // Ignored: editor files and build output. Then a rename-save, which must come through.
        std::fs::write(root.join("src/.#a.erl"), "lock").unwrap();
        std::fs::write(root.join("src/a.erl~"), "backup").unwrap();
        std::fs::write(root.join("_build/avmd/x.avm"), "out").unwrap();
        let tmp = root.join("src/a.erl.tmp");
        std::fs::write(&tmp, "-module(a). % renamed\n").unwrap();
        std::fs::rename(&tmp, &a).unwrap();
        let got = next_change(&rx, 10).expect("the rename is seen");
        assert!(got.contains(&a), "{got:?}");
        assert!(!got.contains(&tmp), "the temp file came and went: {got:?}");
        assert!(got.iter().all(|p| is_relevant(&root, p)), "{got:?}");

        // A source directory that did not exist at start.
        std::fs::create_dir_all(root.join("include")).unwrap();
        let _ = next_change(&rx, 10);
        let hrl = root.join("include/a.hrl");
        std::fs::write(&hrl, "-define(X, 1).\n").unwrap();
        let mut seen = false;
        for _ in 0..3 {
            match next_change(&rx, 10) {
                Some(p) if p.contains(&hrl) => {
                    seen = true;
                    break;
                }
                Some(_) => continue,
                None => break,
            }
        }
        assert!(seen, "a file in a late include/ is seen");
        drop(watcher);
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A burst (a `git checkout`, a formatter over the tree) arrives as few batches holding every
    /// file, not one build per file.
    #[test]
    fn a_burst_of_saves_is_batched() {
        let root = std::env::temp_dir().join(format!("avmd-watch-burst-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("src")).unwrap();
        let root = root.canonicalize().unwrap();
        let (tx, rx) = mpsc::channel();
        let watcher = ProjectWatcher::start(&root, &[], tx).unwrap();
        let files: Vec<PathBuf> = (0..40)
            .map(|i| root.join(format!("src/m{i}.erl")))
            .collect();
        for f in &files {
            std::fs::write(f, "-module(m).\n").unwrap();
        }
        let mut seen = BTreeSet::new();
        let mut batches = 0;
        while seen.len() < files.len() {
            let Some(batch) = next_change(&rx, 10) else {
                break;
            };
            batches += 1;
            seen.extend(batch);
        }
        assert_eq!(
            seen.len(),
            files.len(),
            "every file of the burst is reported"
        );
        assert!(
            batches < files.len() / 4,
            "{batches} batches for {} files",
            files.len()
        );
        drop(watcher);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
