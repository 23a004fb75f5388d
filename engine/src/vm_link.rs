//! The one link to a child VM driven over stdio: `{packet,4}` frames both ways (u32 big-endian length,
//! then the payload), a reader thread per stream, and the child killed when the link drops. The compile
//! VM and the host harness both speak through it; what their frames mean is theirs.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

/// What the reader thread hands over: a frame, or the end of the stream (with why).
#[derive(Debug)]
pub enum Incoming {
    Frame(Vec<u8>),
    Closed(String),
}

pub struct VmLink {
    child: Child,
    stdin: ChildStdin,
}

impl VmLink {
    /// Spawns `cmd` with piped stdio. Every frame on its stdout goes to `on_frame` (then one
    /// `Incoming::Closed` when stdout ends or a frame is longer than `max_frame`); every line on its
    /// stderr to `on_stderr`. Both run on their own threads.
    pub fn spawn(
        mut cmd: Command,
        max_frame: usize,
        mut on_frame: impl FnMut(Incoming) + Send + 'static,
        mut on_stderr: impl FnMut(String) + Send + 'static,
    ) -> std::io::Result<VmLink> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                match read_frame(&mut r, max_frame) {
                    Ok(frame) => on_frame(Incoming::Frame(frame)),
                    Err(why) => {
                        on_frame(Incoming::Closed(why));
                        break;
                    }
                }
            }
        });
        std::thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                on_stderr(line.trim_end().to_string());
                line.clear();
            }
        });
        Ok(VmLink { child, stdin })
    }

    /// Writes one frame.
    pub fn send(&mut self, payload: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(payload.len())
            .map_err(|_| std::io::Error::other("frame longer than 4 GiB"))?;
        self.stdin.write_all(&len.to_be_bytes())?;
        self.stdin.write_all(payload)?;
        self.stdin.flush()
    }

    /// Writes one frame of tab-separated text fields (the requests both VMs understand).
    pub fn send_fields(&mut self, fields: &[&str]) -> std::io::Result<()> {
        self.send(fields.join("\t").as_bytes())
    }

    /// The child's OS pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the child and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for VmLink {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether a field can travel in a tab-separated request.
pub fn field_ok(field: &str) -> bool {
    !field.contains(['\t', '\n'])
}

/// Reads one `{packet,4}` frame; the error says why the stream ended.
pub fn read_frame(r: &mut impl Read, max_frame: usize) -> Result<Vec<u8>, String> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(|e| e.to_string())?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max_frame {
        return Err(format!("frame of {len} bytes (limit {max_frame})"));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).map_err(|e| e.to_string())?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn frames_are_read_whole_and_bounded() {
        let mut bytes = 3u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        bytes.extend_from_slice(&9u32.to_be_bytes());
        bytes.extend_from_slice(b"123456789");
        let mut r = &bytes[..];
        assert_eq!(read_frame(&mut r, 5).unwrap(), b"abc");
        assert!(read_frame(&mut r, 5).unwrap_err().contains("limit 5"));
        assert!(read_frame(&mut &b"\0\0"[..], 5).is_err());
    }

    /// A real child (`cat`) echoes what we send: frames come back whole, then Closed when it ends.
    #[test]
    fn a_real_child_round_trips_frames() {
        let (tx, rx) = mpsc::channel();
        let mut link = VmLink::spawn(
            Command::new("cat"),
            1 << 20,
            move |i| {
                let _ = tx.send(i);
            },
            |_| {},
        )
        .unwrap();
        link.send_fields(&["load", "x"]).unwrap();
        link.send(&[0u8; 70_000]).unwrap();
        match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
            Incoming::Frame(f) => assert_eq!(f, b"load\tx"),
            other => panic!("{other:?}"),
        }
        match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
            Incoming::Frame(f) => assert_eq!(f.len(), 70_000),
            other => panic!("{other:?}"),
        }
        link.kill();
        assert!(matches!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Incoming::Closed(_)
        ));
        assert!(!field_ok("a\tb") && field_ok("a b"));
    }
}
