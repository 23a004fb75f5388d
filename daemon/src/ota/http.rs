//! A small blocking HTTP/1.1 client for the device endpoints: one request per connection
//! (`Connection: close`), JSON replies, and a streamed upload that reports progress and waits for
//! `100 Continue`, so a device that refuses an upload says why before any of the image is sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

/// Bytes per write of an upload (the device reads 4 KB pieces).
const CHUNK: usize = 16 * 1024;
/// Largest reply accepted: device replies are small JSON documents.
const MAX_REPLY: usize = 256 * 1024;

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("the device's reply is not JSON")
    }

    /// The `error` field of a JSON error reply, else the body as text.
    pub fn reason(&self) -> String {
        match self.json() {
            Ok(v) => v
                .get("error")
                .and_then(|e| e.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string()),
            Err(_) => String::from_utf8_lossy(&self.body).trim().to_string(),
        }
    }
}

/// Why an upload stopped short: the connection broke after `sent` bytes of the body.
#[derive(Debug)]
pub struct Cut {
    pub sent: u64,
    pub error: std::io::Error,
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "connection lost after {} bytes: {}",
            self.sent, self.error
        )
    }
}

impl std::error::Error for Cut {}

pub fn resolve(address: &str) -> anyhow::Result<SocketAddr> {
    address
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {address}"))?
        .next()
        .ok_or_else(|| anyhow!("cannot resolve {address}"))
}

fn connect(address: &str, timeout: Duration) -> anyhow::Result<TcpStream> {
    let addr = resolve(address)?;
    let s = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("unreachable: {address}"))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// One request without a body.
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    timeout: Duration,
) -> anyhow::Result<Reply> {
    let mut s = connect(address, timeout)?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )?;
    read_reply(&mut BufReader::new(s), method == "HEAD")
}

/// PUTs `body` (the image from its offset) with `headers`. `progress` is called with the bytes of
/// the body sent so far. A break while sending is `Err` carrying a [`Cut`].
pub fn upload(
    address: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Reply> {
    let mut s = connect(address, timeout)?;
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\nexpect: 100-continue\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    let mut reader = BufReader::new(s.try_clone()?);
    // The device answers 100 Continue once its checks pass, or its refusal at once.
    let first = read_reply(&mut reader, false)?;
    if first.status != 100 {
        return Ok(first);
    }
    let mut sent = 0u64;
    for chunk in body.chunks(CHUNK) {
        if let Err(error) = s.write_all(chunk) {
            // The device may have answered (a refusal mid-body) before it closed.
            if let Ok(r) = read_reply(&mut reader, false) {
                return Ok(r);
            }
            return Err(Cut { sent, error }.into());
        }
        sent += chunk.len() as u64;
        progress(sent);
    }
    read_reply(&mut reader, false).map_err(|e| {
        anyhow::Error::from(Cut {
            sent,
            error: std::io::Error::other(e.to_string()),
        })
    })
}

fn read_reply(r: &mut impl BufRead, head_only: bool) -> anyhow::Result<Reply> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        bail!("the device closed the connection without answering");
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("malformed status line {:?}", line.trim_end()))?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            bail!("the device closed the connection in the reply head");
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim();
            if k == "content-length" {
                length = v.parse().ok();
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    if status == 100 || head_only {
        return Ok(Reply {
            status,
            body: Vec::new(),
        });
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| anyhow!("bad chunk size {size:?}"))?;
            if n == 0 || body.len() + n > MAX_REPLY {
                break;
            }
            let mut buf = vec![0; n + 2];
            r.read_exact(&mut buf)?;
            body.extend_from_slice(&buf[..n]);
        }
    } else if let Some(n) = length {
        if n > MAX_REPLY {
            bail!("reply of {n} bytes is too big");
        }
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else {
        r.take(MAX_REPLY as u64).read_to_end(&mut body)?;
    }
    Ok(Reply { status, body })
}
