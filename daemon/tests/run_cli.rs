//! `avmd run` as a user runs it: the real binary builds the example project, boots it on host OTP and
//! serves it on 127.0.0.1; a real HTTP client gets the page and the API answer.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod support;
use support::{copy_dir, get};

/// Kills `avmd run` when the test ends, pass or fail (its erl exits on stdin EOF).
struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn run_serves_hello_web() {
    let dir = std::env::temp_dir().join(format!("avmd-cli-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello_web"),
        &dir,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_avmd"))
        .args(["run", dir.to_str().unwrap(), "--port", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut port = None;
    let mut console = false;
    while port.is_none() || !console {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("avmd run printed no URL; saw {seen:?}"));
        if line.starts_with("| hello_web listening on port") {
            console = true;
        }
        if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
            port = rest
                .trim_end_matches(|c: char| !c.is_ascii_digit())
                .split('/')
                .next()
                .and_then(|p| p.parse::<u16>().ok());
        }
        seen.push(line);
    }
    let port = port.unwrap();
    let page = get(port, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let api = get(port, "/api/hello?name=x");
    assert!(
        api.starts_with("HTTP/1.1 200") && api.ends_with("{\"hello\":\"x\"}"),
        "{api}"
    );
    drop(_guard);
    let _ = std::fs::remove_dir_all(&dir);
}
