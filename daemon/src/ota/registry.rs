//! The device registry and push history, in SQLite (`$AVMD_HOME/devices.sqlite3`, else
//! `~/.local/share/avmd/devices.sqlite3`): the devices a user added (or `avmd sim` registered) with
//! what was last seen of them, and one row per push attempt. WAL, one transaction per change.

use std::path::PathBuf;

use anyhow::{bail, Context};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

const SCHEMA_VERSION: i64 = 2;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Device {
    pub name: String,
    /// `host:port` of the device's HTTP server.
    pub address: String,
    /// What the device last reported (`/_avm/info`), when it was reached.
    pub device_id: Option<String>,
    pub key_id: Option<String>,
    pub sha256: Option<String>,
    pub version: Option<String>,
    pub last_seen_ms: Option<i64>,
    /// The console log of a simulated device (`avmd sim` writes it), for the dashboard.
    pub console_path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PushRecord {
    pub id: i64,
    pub device: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub sha256: String,
    /// `updated`, `up_to_date`, `refused`, `unreachable`, `timed_out`, `rolled_back`, `failed`.
    pub result: String,
    pub detail: String,
    pub bytes_sent: u64,
}

impl PushRecord {
    /// The row of one push outcome (stored with a fresh id).
    pub fn of(o: &crate::ota::push::PushOutcome, sha256: &str, started_at_ms: i64) -> PushRecord {
        PushRecord {
            id: 0,
            device: o.device.clone(),
            started_at_ms,
            duration_ms: o.duration_ms,
            sha256: sha256.to_string(),
            result: o.result.as_str().into(),
            detail: o.detail.clone(),
            bytes_sent: o.bytes_sent,
        }
    }
}

pub fn default_path() -> PathBuf {
    let base = std::env::var_os("AVMD_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/avmd")))
        .unwrap_or_else(|| std::env::temp_dir().join("avmd"));
    base.join("devices.sqlite3")
}

pub struct Registry {
    conn: Connection,
}

pub use crate::clock::now_ms;

impl Registry {
    pub fn open_default() -> anyhow::Result<Registry> {
        Self::open(&default_path())
    }

    pub fn open(path: &std::path::Path) -> anyhow::Result<Registry> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening the device registry {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            bail!(
                "device registry {} has schema version {version}, newer than this avmd understands",
                path.display()
            );
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS devices (
                name TEXT PRIMARY KEY, address TEXT NOT NULL, device_id TEXT, key_id TEXT,
                sha256 TEXT, version TEXT, last_seen_ms INTEGER);
             CREATE TABLE IF NOT EXISTS pushes (
                id INTEGER PRIMARY KEY, device TEXT NOT NULL, started_at_ms INTEGER NOT NULL,
                duration_ms INTEGER NOT NULL, sha256 TEXT NOT NULL, result TEXT NOT NULL,
                detail TEXT NOT NULL, bytes_sent INTEGER NOT NULL);
",
        )?;
        if version < 2 {
            // v2: the console log of a simulated device
            let has: bool = conn
                .prepare("SELECT 1 FROM pragma_table_info('devices') WHERE name = 'console_path'")?
                .exists([])?;
            if !has {
                conn.execute_batch("ALTER TABLE devices ADD COLUMN console_path TEXT;")?;
            }
            conn.execute_batch("PRAGMA user_version = 2;")?;
        }
        Ok(Registry { conn })
    }

    /// Adds a device, or changes the address of one with that name.
    pub fn add(&self, name: &str, address: &str) -> anyhow::Result<()> {
        check_name(name)?;
        self.conn.execute(
            "INSERT INTO devices (name, address) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET address = excluded.address",
            params![name, address],
        )?;
        Ok(())
    }

    /// Where a simulated device's console log is (None for a real device).
    pub fn set_console(&self, name: &str, path: Option<&str>) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE devices SET console_path = ?2 WHERE name = ?1",
            params![name, path],
        )?;
        Ok(())
    }

    pub fn remove(&self, name: &str) -> anyhow::Result<()> {
        if self
            .conn
            .execute("DELETE FROM devices WHERE name = ?1", params![name])?
            == 0
        {
            bail!("no device named {name:?} (avmd devices lists them)");
        }
        Ok(())
    }

    pub fn rename(&self, old: &str, new: &str) -> anyhow::Result<()> {
        check_name(new)?;
        if self.get(new)?.is_some() {
            bail!("a device named {new:?} exists already");
        }
        if self.conn.execute(
            "UPDATE devices SET name = ?2 WHERE name = ?1",
            params![old, new],
        )? == 0
        {
            bail!("no device named {old:?} (avmd devices lists them)");
        }
        self.conn.execute(
            "UPDATE pushes SET device = ?2 WHERE device = ?1",
            params![old, new],
        )?;
        Ok(())
    }

    pub fn get(&self, name: &str) -> anyhow::Result<Option<Device>> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, address, device_id, key_id, sha256, version, last_seen_ms, console_path FROM devices WHERE name = ?1",
                params![name],
                row_device,
            )
            .optional()?)
    }

    pub fn list(&self) -> anyhow::Result<Vec<Device>> {
        let mut st = self.conn.prepare(
            "SELECT name, address, device_id, key_id, sha256, version, last_seen_ms, console_path FROM devices ORDER BY name",
        )?;
        let rows = st.query_map([], row_device)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records what a device reported.
    pub fn seen(
        &self,
        name: &str,
        device_id: Option<&str>,
        key_id: Option<&str>,
        sha256: Option<&str>,
        version: Option<&str>,
    ) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE devices SET device_id = ?2, key_id = ?3, sha256 = ?4, version = ?5, last_seen_ms = ?6 WHERE name = ?1",
            params![name, device_id, key_id, sha256, version, now_ms()],
        )?;
        Ok(())
    }

    /// Records the SHA-256 a device runs after a push (the rest of what it reported stays).
    pub fn set_running(&self, name: &str, sha256: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE devices SET sha256 = ?2, last_seen_ms = ?3 WHERE name = ?1",
            params![name, sha256, now_ms()],
        )?;
        Ok(())
    }

    pub fn record_push(&self, r: &PushRecord) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT INTO pushes (device, started_at_ms, duration_ms, sha256, result, detail, bytes_sent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![r.device, r.started_at_ms, r.duration_ms as i64, r.sha256, r.result, r.detail, r.bytes_sent as i64],
        )?;
        Ok(())
    }

    /// The newest pushes first (of one device, or of all).
    pub fn history(&self, device: Option<&str>, limit: u32) -> anyhow::Result<Vec<PushRecord>> {
        let mut st = self.conn.prepare(
            "SELECT id, device, started_at_ms, duration_ms, sha256, result, detail, bytes_sent FROM pushes
             WHERE ?1 IS NULL OR device = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![device, limit], |r| {
            Ok(PushRecord {
                id: r.get(0)?,
                device: r.get(1)?,
                started_at_ms: r.get(2)?,
                duration_ms: r.get::<_, i64>(3)? as u64,
                sha256: r.get(4)?,
                result: r.get(5)?,
                detail: r.get(6)?,
                bytes_sent: r.get::<_, i64>(7)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn row_device(r: &rusqlite::Row) -> rusqlite::Result<Device> {
    Ok(Device {
        name: r.get(0)?,
        address: r.get(1)?,
        device_id: r.get(2)?,
        key_id: r.get(3)?,
        sha256: r.get(4)?,
        version: r.get(5)?,
        last_seen_ms: r.get(6)?,
        console_path: r.get(7)?,
    })
}

fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!("device name {name:?}: use letters, digits, '-', '_' and '.'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_rename_remove_and_history() {
        let dir = std::env::temp_dir().join(format!("avmd-reg-{}", std::process::id()));
        let reg = Registry::open(&dir.join("d.sqlite3")).unwrap();
        reg.add("a", "127.0.0.1:1").unwrap();
        reg.add("a", "127.0.0.1:2").unwrap();
        assert_eq!(reg.list().unwrap()[0].address, "127.0.0.1:2");
        reg.set_console("a", Some("/x/console.log")).unwrap();
        assert_eq!(
            reg.get("a").unwrap().unwrap().console_path.as_deref(),
            Some("/x/console.log")
        );
        assert!(reg.add("bad name", "x:1").is_err());
        reg.record_push(&PushRecord {
            id: 0,
            device: "a".into(),
            started_at_ms: 1,
            duration_ms: 2,
            sha256: "s".into(),
            result: "updated".into(),
            detail: String::new(),
            bytes_sent: 3,
        })
        .unwrap();
        reg.rename("a", "b").unwrap();
        assert_eq!(reg.history(Some("b"), 10).unwrap().len(), 1);
        assert!(reg.rename("zz", "c").is_err());
        reg.remove("b").unwrap();
        assert!(reg.remove("b").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
