//! Reads the real AtomVM's stderr into console lines. The VM prints a process crash as a
//! multi-line dump (`CRASH`, `pid:`, `Stacktrace:`, the x registers, `**End Of Crash Report**`);
//! a user wants one line that says which process died, why, and where. The dump names the
//! crashing frame and line, not the missing function, so an `undef` says what it usually means.

use crate::runner::{ConsoleLine, ConsoleStream};

/// Folds stderr lines into console lines; feed it every line in order.
#[derive(Default)]
pub struct CrashDumpReader {
    /// The dump being read, if inside one.
    dump: Option<Vec<String>>,
}

impl CrashDumpReader {
    /// What to show for this stderr line: nothing while inside a dump, one summary at its end.
    pub fn line(&mut self, line: &str) -> Option<ConsoleLine> {
        let trimmed = line.trim_end();
        if let Some(dump) = &mut self.dump {
            if trimmed == "**End Of Crash Report**" {
                let dump = self.dump.take().unwrap_or_default();
                return Some(crash(summarize(&dump)));
            }
            // A dump is a few dozen lines; a runaway one is cut, not buffered without bound.
            if dump.len() < 400 {
                dump.push(trimmed.to_string());
            }
            return None;
        }
        if trimmed == "CRASH" {
            self.dump = Some(Vec::new());
            return None;
        }
        if let Some(value) = trimmed.strip_prefix("Return value: ") {
            return Some(ConsoleLine {
                text: format!("start/0 returned {value}; the VM exits"),
                stream: ConsoleStream::Harness,
            });
        }
        if trimmed.is_empty() || is_bind_echo(trimmed) {
            return None;
        }
        Some(ConsoleLine {
            text: trimmed.to_string(),
            stream: ConsoleStream::Harness,
        })
    }

    /// The summary of a dump the VM did not finish (it exited mid-dump).
    pub fn finish(&mut self) -> Option<ConsoleLine> {
        self.dump.take().map(|d| crash(summarize(&d)))
    }
}

fn crash(text: String) -> ConsoleLine {
    ConsoleLine {
        text,
        stream: ConsoleStream::Crash,
    }
}

/// generic_unix's socket driver echoes a listen address tuple to stderr (an upstream debug print).
fn is_bind_echo(line: &str) -> bool {
    line.starts_with('{')
        && line.ends_with('}')
        && line[1..line.len() - 1]
            .split(',')
            .all(|n| n.parse::<u8>().is_ok())
        && line.matches(',').count() == 3
}

/// "process <0.4.0> crashed: error undef in crash:f/0 (crash.erl:5) — ..." from a dump's lines.
fn summarize(dump: &[String]) -> String {
    let field = |prefix: &str| {
        dump.iter()
            .find_map(|l| l.strip_prefix(prefix).map(str::trim))
            .unwrap_or("?")
    };
    let pid = field("pid:");
    let class = field("x[0]:");
    let reason = field("x[1]:");
    let frame = dump
        .iter()
        .skip_while(|l| !l.starts_with("Stacktrace:"))
        .nth(1)
        .and_then(|l| top_frame(l));
    let mut text = format!("process {pid} crashed: {class} {reason}");
    if let Some(f) = frame {
        text.push_str(" in ");
        text.push_str(&f);
    }
    if reason == "undef" {
        text.push_str(" (a call to a function this VM does not have)");
    }
    text
}

/// `crash:f/0 (crash.erl:5)` from `[{crash,f,0,[{file,"crash.erl"},{line,5}]}, ...]`.
fn top_frame(stack: &str) -> Option<String> {
    let inner = stack.strip_prefix("[{")?;
    let mut parts = inner.splitn(4, ',');
    let module = parts.next()?;
    let function = parts.next()?;
    let arity = parts.next()?;
    let arity = if arity.starts_with('[') { "?" } else { arity };
    let mut out = format!("{module}:{function}/{arity}");
    let file = between(inner, "{file,\"", "\"}");
    let line = between(inner, "{line,", "}");
    if let (Some(file), Some(line)) = (file, line) {
        out.push_str(&format!(" ({file}:{line})"));
    }
    Some(out)
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let len = s[start..].find(close)?;
    Some(&s[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    // Printed by AtomVM 7b2821593d9e (generic_unix) for `M:sum([1])` with M = lists in a spawned fun.
    const DUMP: &str = "CRASH \n======\npid: <0.4.0>\n\nStacktrace:\n\
        [{crash,-start/0-fun-0-,0,[{file,\"crash.erl\"},{line,5}]}]\n\n\
        cp: #CP<module: 0, label: 9, offset: 0>\n\nx[0]: error\nx[1]: undef\n\
        x[2]: {1,1,9,1,[{0,147}],error}\n\nStack \n-----\n\n\nMailbox\n-------\n\n\n\
        Monitors\n--------\n\n\n**End Of Crash Report**\nReturn value: error\n";

    fn read(text: &str) -> Vec<ConsoleLine> {
        let mut r = CrashDumpReader::default();
        let mut out: Vec<ConsoleLine> = text.lines().filter_map(|l| r.line(l)).collect();
        out.extend(r.finish());
        out
    }

    #[test]
    fn a_dump_becomes_one_line_naming_process_reason_and_place() {
        let lines = read(DUMP);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].stream, ConsoleStream::Crash);
        assert_eq!(
            lines[0].text,
            "process <0.4.0> crashed: error undef in crash:-start/0-fun-0-/0 (crash.erl:5) \
             (a call to a function this VM does not have)"
        );
        assert_eq!(lines[1].text, "start/0 returned error; the VM exits");
        assert_eq!(lines[1].stream, ConsoleStream::Harness);
    }

    #[test]
    fn other_stderr_lines_pass_through_and_the_bind_echo_is_dropped() {
        let lines = read("{127,0,0,1}\nwarning: something\n\n{a,b}\n");
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["warning: something", "{a,b}"]);
    }

    #[test]
    fn a_dump_cut_off_by_exit_still_gets_summarized() {
        let lines = read("CRASH\n======\npid: <0.9.0>\nx[0]: exit\nx[1]: badarg\n");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].text, "process <0.9.0> crashed: exit badarg");
    }
}
