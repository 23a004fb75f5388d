//! Build history of `avmd dev`, kept in SQLite at `_build/avmd/history.sqlite3`: one row per build
//! (when, how long, result, bundle hash and size, diagnostic counts). The database runs in WAL mode with
//! `synchronous=FULL` and every build is one committed transaction, so a `kill -9` at any moment loses
//! at most the build being written and never corrupts the file.

use std::path::Path;

use anyhow::Context;
use rusqlite::{params, Connection};
use serde::Serialize;

/// The schema's version, kept in `PRAGMA user_version`; bump it with a migration when columns change.
const SCHEMA_VERSION: i64 = 1;

/// How a build ended (stored as its lowercase name, served as a JSON string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildResult {
    /// A bundle was produced and loaded.
    Ok,
    /// The same bundle as the one serving.
    Unchanged,
    /// Diagnostics with errors; the previous bundle keeps serving.
    Failed,
    /// The environment failed: compile VM or host runtime.
    Error,
}

impl BuildResult {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildResult::Ok => "ok",
            BuildResult::Unchanged => "unchanged",
            BuildResult::Failed => "failed",
            BuildResult::Error => "error",
        }
    }

    /// A stored name; anything unknown (a newer avmd's) reads as `error`.
    pub fn parse(s: &str) -> BuildResult {
        match s {
            "ok" => BuildResult::Ok,
            "unchanged" => BuildResult::Unchanged,
            "failed" => BuildResult::Failed,
            _ => BuildResult::Error,
        }
    }
}

/// One build as stored and as served by `/api/builds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildRecord {
    /// Row id; 0 for a record not yet stored.
    pub id: i64,
    /// Start of the build, milliseconds since the Unix epoch (UTC).
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub result: BuildResult,
    pub bundle_sha256: Option<String>,
    pub bundle_size: Option<u64>,
    pub n_errors: u32,
    pub n_warnings: u32,
    pub n_compiled: u32,
    pub n_modules: u32,
    /// What set the build off: `start`, or the changed paths (relative, comma-separated, shortened).
    pub trigger: String,
}

/// The history database. Not `Sync`: wrap it in a mutex to share it.
pub struct History {
    conn: Connection,
}

impl History {
    /// Opens (creating when missing) the database at `path` and its parent directory.
    pub fn open(path: &Path) -> anyhow::Result<History> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening build history {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL: readers never block the writer and a crash mid-write leaves the last commit intact.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            anyhow::bail!(
                "build history {} has schema version {version}, newer than this avmd understands ({SCHEMA_VERSION}); \
                 delete it or upgrade avmd",
                path.display()
            );
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS builds (
                 id            INTEGER PRIMARY KEY AUTOINCREMENT,
                 started_at_ms INTEGER NOT NULL,
                 duration_ms   INTEGER NOT NULL,
                 result        TEXT    NOT NULL,
                 bundle_sha256 TEXT,
                 bundle_size   INTEGER,
                 n_errors      INTEGER NOT NULL,
                 n_warnings    INTEGER NOT NULL,
                 n_compiled    INTEGER NOT NULL,
                 n_modules     INTEGER NOT NULL,
                 trigger       TEXT    NOT NULL
             );
             PRAGMA user_version = 1;",
        )?;
        Ok(History { conn })
    }

    /// Stores one build and returns its id (committed before returning).
    pub fn record(&self, b: &BuildRecord) -> anyhow::Result<i64> {
        self.conn.execute(
            "INSERT INTO builds (started_at_ms, duration_ms, result, bundle_sha256, bundle_size,
                                 n_errors, n_warnings, n_compiled, n_modules, trigger)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                b.started_at_ms,
                b.duration_ms as i64,
                b.result.as_str(),
                b.bundle_sha256,
                b.bundle_size.map(|s| s as i64),
                b.n_errors,
                b.n_warnings,
                b.n_compiled,
                b.n_modules,
                b.trigger,
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The newest `limit` builds, newest first.
    pub fn recent(&self, limit: u32) -> anyhow::Result<Vec<BuildRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, started_at_ms, duration_ms, result, bundle_sha256, bundle_size,
                    n_errors, n_warnings, n_compiled, n_modules, trigger
             FROM builds ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(BuildRecord {
                id: r.get(0)?,
                started_at_ms: r.get(1)?,
                duration_ms: r.get::<_, i64>(2)?.max(0) as u64,
                result: BuildResult::parse(&r.get::<_, String>(3)?),
                bundle_sha256: r.get(4)?,
                bundle_size: r.get::<_, Option<i64>>(5)?.map(|s| s.max(0) as u64),
                n_errors: r.get(6)?,
                n_warnings: r.get(7)?,
                n_compiled: r.get(8)?,
                n_modules: r.get(9)?,
                trigger: r.get(10)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>().map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(result: &str, trigger: &str) -> BuildRecord {
        BuildRecord {
            id: 0,
            started_at_ms: 1_700_000_000_000,
            duration_ms: 42,
            result: BuildResult::parse(result),
            bundle_sha256: (result == "ok").then(|| "ab".repeat(32)),
            bundle_size: (result == "ok").then_some(1234),
            n_errors: u32::from(result != "ok"),
            n_warnings: 2,
            n_compiled: 1,
            n_modules: 7,
            trigger: trigger.into(),
        }
    }

    fn temp_db(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("avmd-history-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("nested").join("history.sqlite3")
    }

    #[test]
    fn records_survive_reopening_newest_first() {
        let path = temp_db("reopen");
        {
            let h = History::open(&path).unwrap();
            h.record(&record("ok", "start")).unwrap();
            h.record(&record("failed", "src/a.erl")).unwrap();
        }
        let h = History::open(&path).unwrap();
        let id3 = h.record(&record("ok", "src/a.erl")).unwrap();
        let all = h.recent(10).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].id, id3);
        assert_eq!(all[1].result, BuildResult::Failed);
        assert_eq!(all[1].bundle_sha256, None);
        assert_eq!(all[2].trigger, "start");
        assert_eq!(all[2].bundle_size, Some(1234));
        assert_eq!(h.recent(1).unwrap().len(), 1);
        std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_error() {
        let path = temp_db("schema");
        History::open(&path).unwrap();
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99;")
            .unwrap();
        let err = History::open(&path).err().expect("must refuse").to_string();
        assert!(err.contains("schema version 99"), "{err}");
        std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error_not_a_panic() {
        let path = temp_db("garbage");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            b"this is not sqlite, just text that is long enough to have a header",
        )
        .unwrap();
        assert!(History::open(&path).is_err());
        std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }
}
