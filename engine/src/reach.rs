//! Which runtime library modules an app reaches, so a bundle carries only those (flash is the
//! device's scarcest resource; an HTTP-only app does not need the WebSocket codec).
//!
//! A module reaches another when it names it: as an atom in its atom table (remote calls, module
//! atoms in code) or as an atom inside its literal table (route lists such as
//! `[{<<"/">>, httpd_static, Opts}]` are literals, and their atoms live there, not in `AtU8`). The
//! rule is conservative: a module named anywhere is kept, even if never called. It cannot see a
//! module name built at run time (`binary_to_atom`); `runtime_modules = "all"` ships everything.
//! Pure: beams in, names out.

use std::collections::{BTreeSet, HashSet};

use crate::beam::Beam;

/// Edges that do not count, and what brings the target in instead. `httpd_conn` names
/// `httpd_ws_conn` only to hand over a connection that a WebSocket route upgraded; an app upgrades
/// only through `httpd_ws_handler` or a handler returning `{upgrade, websocket, ...}`. The adapters
/// of atomvm_lib's API are needed only by an app with a module written for it, which names its own
/// callbacks (`handle_http_req`, `handle_api_request`, `handle_ws_init`) as exports.
/// `httpd_server` starts `mdns_responder` only for a config with an `mdns` key.
const SOFT_EDGES: &[(&str, &str, &[&str])] = &[
    (
        "httpd_conn",
        "httpd_ws_conn",
        &["httpd_ws_handler", "websocket"],
    ),
    ("httpd_server", "httpd_legacy", &["handle_http_req"]),
    // the DNS-SD responder ships only to an app whose config says `mdns => ...`
    ("httpd_server", "mdns_responder", &["mdns"]),
    ("httpd_api_handler", "httpd_legacy", &["handle_api_request"]),
    ("httpd_api_handler", "json_encoder", &["handle_api_request"]),
    ("httpd_ws_handler", "httpd_legacy_ws", &["handle_ws_init"]),
];

/// The names among `candidates` that `beam` mentions as atoms (atom table or literals).
fn mentions<'a>(beam: &Beam, candidates: &[&'a str]) -> HashSet<&'a str> {
    let atoms: HashSet<&str> = beam.atoms.iter().map(String::as_str).collect();
    // A device beam has LitU; a beam straight from the compiler has it compressed in LitT.
    let inflated;
    let literals = match (beam.chunk(b"LitU"), beam.chunk(b"LitT")) {
        (Some(c), _) => c.data.as_slice(),
        (None, Some(c)) => {
            inflated = crate::beam::inflate_literals(&c.data).unwrap_or_default();
            inflated.as_slice()
        }
        (None, None) => &[],
    };
    candidates
        .iter()
        .copied()
        .filter(|name| atoms.contains(name) || literal_atom(literals, name))
        .collect()
}

/// Whether the external term format bytes `lits` hold the atom `name` (as `SMALL_ATOM_UTF8_EXT`,
/// `ATOM_UTF8_EXT` or `ATOM_EXT`). A byte-pattern search: a binary that happens to hold the same
/// bytes makes it keep a module it did not need, never drop one it needs.
fn literal_atom(lits: &[u8], name: &str) -> bool {
    let n = name.as_bytes();
    let Ok(len) = u8::try_from(n.len()) else {
        return false;
    };
    let patterns = [
        [&[119u8, len][..], n].concat(),
        [&[118u8, 0, len][..], n].concat(),
        [&[100u8, 0, len][..], n].concat(),
    ];
    patterns
        .iter()
        .any(|p| lits.windows(p.len()).any(|w| w == p.as_slice()))
}

/// What one module names that matters here: runtime modules, and the soft edges' triggers.
#[derive(Debug, Clone, Default)]
pub struct Names {
    modules: Vec<String>,
    triggers: Vec<&'static str>,
}

impl Names {
    /// Reads `beam`'s atoms and literals for the names in `runtime` and the triggers.
    pub fn of(beam: &Beam, runtime: &[&str]) -> Names {
        let triggers: Vec<&'static str> = SOFT_EDGES
            .iter()
            .flat_map(|(_, _, t)| t.iter().copied())
            .collect();
        Names {
            modules: mentions(beam, runtime)
                .into_iter()
                .map(str::to_string)
                .collect(),
            triggers: mentions(beam, &triggers).into_iter().collect(),
        }
    }
}

/// The runtime modules the app reaches, directly or through other runtime modules. `app` holds
/// what the app's own modules name; `runtime` what each runtime module names (computed once).
pub fn reachable(app: &[Names], runtime: &[(&str, &Names)]) -> BTreeSet<String> {
    let mut walk = Walk::default();
    for names in app {
        walk.visit(names, None);
    }
    loop {
        while let Some(name) = walk.queue.pop() {
            if let Some((_, names)) = runtime.iter().find(|(n, _)| *n == name) {
                walk.visit(names, Some(&name));
            }
        }
        // A soft edge counts once its source is kept and one of its triggers was seen.
        let due: Vec<&str> = SOFT_EDGES
            .iter()
            .filter(|(from, to, triggers)| {
                walk.kept.contains(*from)
                    && !walk.kept.contains(*to)
                    && triggers.iter().any(|t| walk.triggered.contains(t))
            })
            .map(|(_, to, _)| *to)
            .collect();
        if due.is_empty() {
            return walk.kept;
        }
        for to in due {
            walk.keep(to);
        }
    }
}

#[derive(Default)]
struct Walk {
    kept: BTreeSet<String>,
    queue: Vec<String>,
    triggered: HashSet<&'static str>,
}

impl Walk {
    fn keep(&mut self, name: &str) {
        if self.kept.insert(name.to_string()) {
            self.queue.push(name.to_string());
        }
    }

    fn visit(&mut self, names: &Names, from: Option<&str>) {
        // Only the app's own modules trigger: runtime modules name the triggers themselves
        // (httpd_conn matches `{upgrade, websocket, ..}`, behaviours list their callbacks).
        if from.is_none() {
            self.triggered.extend(names.triggers.iter().copied());
        }
        for name in &names.modules {
            let soft = SOFT_EDGES
                .iter()
                .any(|(f, to, _)| Some(*f) == from && to == name);
            if !soft {
                self.keep(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beam;
    use crate::runtime_lib;

    fn runtime() -> Vec<(&'static str, Beam)> {
        runtime_lib::device_modules()
            .iter()
            .map(|(n, b)| (*n, beam::parse(b).unwrap()))
            .collect()
    }

    #[test]
    fn literal_atoms_are_found_in_every_encoding() {
        assert!(literal_atom(&[131, 119, 3, b'a', b'b', b'c'], "abc"));
        assert!(literal_atom(&[118, 0, 3, b'a', b'b', b'c'], "abc"));
        assert!(literal_atom(&[100, 0, 3, b'a', b'b', b'c'], "abc"));
        assert!(!literal_atom(&[119, 2, b'a', b'b', b'c'], "abc"));
        assert!(!literal_atom(&[119, 3, b'a', b'b'], "abc"));
    }

    #[test]
    fn the_runtime_reaches_itself_and_websocket_only_through_its_triggers() {
        let rt = runtime();
        let all: Vec<&str> = rt.iter().map(|(n, _)| *n).collect();
        let names: Vec<(&str, Names)> = rt.iter().map(|(n, b)| (*n, Names::of(b, &all))).collect();
        let pairs: Vec<(&str, &Names)> = names.iter().map(|(n, x)| (*n, x)).collect();
        // An app that names httpd_server only: the HTTP core, no WebSocket, no middleware.
        // An app's names, as Names::of reads them from its beams.
        let app = |modules: &[&str], triggers: &[&'static str]| Names {
            modules: modules.iter().map(|m| m.to_string()).collect(),
            triggers: triggers.to_vec(),
        };
        let http = reachable(&[app(&["httpd_server"], &[])], &pairs);
        for m in [
            "httpd_server",
            "httpd_conn",
            "httpd_parse",
            "gen_tcp_server",
            "httpd_router",
        ] {
            assert!(http.contains(m), "{m} in {http:?}");
        }
        for m in [
            "httpd_ws_conn",
            "httpd_ws_frame",
            "httpd_mw_cors",
            "httpd_static",
            "httpd_legacy",
            "httpd_legacy_ws",
            "json_encoder",
            "mdns_responder",
            "mdns_wire",
        ] {
            assert!(!http.contains(m), "{m} not in {http:?}");
        }
        // Naming httpd_ws_handler brings the WebSocket connection and codec in.
        let ws = reachable(
            &[app(
                &["httpd_server", "httpd_ws_handler"],
                &["httpd_ws_handler"],
            )],
            &pairs,
        );
        for m in ["httpd_ws_conn", "httpd_ws_frame", "httpd_ws_handler"] {
            assert!(ws.contains(m), "{m} in {ws:?}");
        }
        assert!(!ws.contains("httpd_legacy_ws"), "{ws:?}");
        // A module written for atomvm_lib's WebSocket contract brings its adapter.
        let legacy = reachable(
            &[app(
                &["httpd", "httpd_ws_handler"],
                &["httpd_ws_handler", "handle_ws_init"],
            )],
            &pairs,
        );
        for m in ["httpd_legacy_ws", "httpd_ws_conn", "httpd_server"] {
            assert!(legacy.contains(m), "{m} in {legacy:?}");
        }
    }
}
