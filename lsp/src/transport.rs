//! The frames between the editor and the server. tower-lsp-server's reader ends the whole session
//! on the first frame it cannot decode (bad JSON, invalid UTF-8, a header without a length), so
//! stdin goes through this filter first: whole, well-formed JSON-RPC frames pass on unchanged, and
//! anything else is dropped with a note on stderr, after which reading resumes at the next frame.
//! The splitting is pure ([`Splitter`]); [`filter`] moves the bytes.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A frame larger than this is refused (and skipped): no editor sends documents this big.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;
/// A header block longer than this has no end in sight: dropped.
const MAX_HEADER: usize = 8 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A well-formed message body (UTF-8 JSON object with `"jsonrpc": "2.0"`).
    Message(Vec<u8>),
    /// Something was dropped, and why.
    Dropped(String),
}

/// Splits a byte stream into frames, resynchronising after garbage.
#[derive(Default)]
pub struct Splitter {
    buf: Vec<u8>,
    /// Bytes of an oversized body still to skip.
    skip: usize,
}

impl Splitter {
    pub fn push(&mut self, bytes: &[u8]) {
        if self.skip > 0 {
            let n = self.skip.min(bytes.len());
            self.skip -= n;
            self.buf.extend_from_slice(&bytes[n..]);
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The next complete frame, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Option<Frame> {
        if self.skip > 0 {
            return None;
        }
        let Some(end) = find(&self.buf, b"\r\n\r\n") else {
            if self.buf.len() > MAX_HEADER {
                self.buf.clear();
                return Some(Frame::Dropped("a header block without an end".into()));
            }
            return None;
        };
        let header = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let length = header.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        });
        let Some(length) = length else {
            self.buf.drain(..end + 4);
            return Some(Frame::Dropped(format!(
                "a header without a valid Content-Length: {:?}",
                header.trim()
            )));
        };
        if length > MAX_FRAME {
            let have = self.buf.len() - (end + 4);
            self.buf.drain(..end + 4 + have.min(length));
            self.skip = length - have.min(length);
            return Some(Frame::Dropped(format!("a frame of {length} bytes")));
        }
        if self.buf.len() < end + 4 + length {
            return None;
        }
        let body: Vec<u8> = self.buf.drain(..end + 4 + length).skip(end + 4).collect();
        Some(match check(&body) {
            Ok(()) => Frame::Message(body),
            Err(why) => Frame::Dropped(why),
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether a body is a JSON-RPC 2.0 message the server can decode.
fn check(body: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("a body that is not UTF-8 ({e})"))?;
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("a body that is not JSON ({e})"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| "a body that is not a JSON object".to_string())?;
    if obj.get("jsonrpc").and_then(|j| j.as_str()) != Some("2.0") {
        return Err("a message without \"jsonrpc\": \"2.0\"".into());
    }
    if !obj.contains_key("method") && !obj.contains_key("id") {
        return Err("a message with neither method nor id".into());
    }
    Ok(())
}

/// Copies well-formed frames from `input` to `output` until `input` ends.
pub async fn filter(
    mut input: impl AsyncRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> std::io::Result<()> {
    let mut splitter = Splitter::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = input.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        splitter.push(&chunk[..n]);
        while let Some(frame) = splitter.next_frame() {
            match frame {
                Frame::Message(body) => {
                    output
                        .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
                        .await?;
                    output.write_all(&body).await?;
                    output.flush().await?;
                }
                Frame::Dropped(why) => eprintln!("avmd lsp: dropped {why}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        v.extend_from_slice(body);
        v
    }

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut s = Splitter::default();
        // fed a byte at a time: frames must not depend on how reads split the stream
        let mut out = Vec::new();
        for b in input {
            s.push(std::slice::from_ref(b));
            while let Some(f) = s.next_frame() {
                out.push(f);
            }
        }
        out
    }

    #[test]
    fn good_frames_pass_and_bad_ones_are_dropped_in_between() {
        let good = br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#;
        let mut input = framed(b"{not json");
        input.extend(framed(b"{}"));
        input.extend(framed(&[0xff, 0xfe]));
        input.extend(b"X-Junk: 1\r\n\r\n");
        input.extend(framed(b"[1,2]"));
        input.extend(framed(good));
        let got = frames(&input);
        assert_eq!(got.len(), 6, "{got:?}");
        assert!(got[..5].iter().all(|f| matches!(f, Frame::Dropped(_))));
        assert_eq!(got[5], Frame::Message(good.to_vec()));
    }

    #[test]
    fn an_oversized_frame_is_skipped_whole() {
        let mut s = Splitter::default();
        s.push(format!("Content-Length: {}\r\n\r\n", MAX_FRAME + 1).as_bytes());
        assert!(matches!(s.next_frame(), Some(Frame::Dropped(_))));
        s.push(&vec![b'a'; MAX_FRAME + 1]);
        let good = br#"{"jsonrpc":"2.0","method":"exit"}"#;
        s.push(&framed(good));
        assert_eq!(s.next_frame(), Some(Frame::Message(good.to_vec())));
    }
}
