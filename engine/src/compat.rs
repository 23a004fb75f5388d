//! The AtomVM compatibility check: every remote call a module makes (its import table) against the
//! functions a device of the project's platform really has — the C core's BIFs and NIFs plus the
//! Erlang/Elixir libraries AtomVM ships (`data/*.tsv`, copied from ../shared/atomvm). Pure: the tables
//! are embedded and parsed once; the check does no I/O.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

pub use crate::beam::Mfa;

const BIFS_NIFS_TSV: &str = include_str!("../data/bifs_nifs.tsv");
const ESTDLIB_EXPORTS_TSV: &str = include_str!("../data/estdlib_exports.tsv");

/// A device platform, as AtomVM's sources name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    Esp32,
    Rp2,
    Stm32,
    GenericUnix,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Esp32,
        Platform::Rp2,
        Platform::Stm32,
        Platform::GenericUnix,
    ];

    /// The name used in the tables' `where` column and in `atomvm:platform/0`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Esp32 => "esp32",
            Platform::Rp2 => "rp2",
            Platform::Stm32 => "stm32",
            Platform::GenericUnix => "generic_unix",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPlatform(pub String);

impl fmt::Display for UnknownPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown platform or profile {:?}: expected esp32, esp32c3, esp32s3, rp2, pico, pico_w, stm32 or generic_unix",
            self.0
        )
    }
}

impl std::error::Error for UnknownPlatform {}

impl FromStr for Platform {
    type Err = UnknownPlatform;

    /// Accepts platform names and the device profile names that map onto them.
    fn from_str(s: &str) -> Result<Platform, UnknownPlatform> {
        match s {
            "esp32" | "esp32c3" | "esp32s3" | "esp32c6" | "esp32s2" | "esp32h2" | "esp32p4" => {
                Ok(Platform::Esp32)
            }
            "rp2" | "rp2040" | "rp2350" | "pico" | "pico_w" | "pico2" | "pico2_w" => {
                Ok(Platform::Rp2)
            }
            "stm32" => Ok(Platform::Stm32),
            "generic_unix" | "unix" | "host" => Ok(Platform::GenericUnix),
            other => Err(UnknownPlatform(other.to_string())),
        }
    }
}

/// Where a row of the tables applies: every platform or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    All,
    Only(Platform),
    /// A platform we do not target (emscripten): its rows never count.
    Never,
}

/// Which platform an AtomVM library ships on. Libraries not named here (estdlib, eavmlib, exavmlib,
/// avm_network, alisp, etest, jit) are platform-independent Erlang/Elixir.
fn library_scope(library: &str) -> Scope {
    match library {
        "avm_esp32" | "esp32boot" | "esp32devmode" => Scope::Only(Platform::Esp32),
        "avm_rp2" => Scope::Only(Platform::Rp2),
        "avm_stm32" => Scope::Only(Platform::Stm32),
        "avm_unix" => Scope::Only(Platform::GenericUnix),
        "avm_emscripten" => Scope::Never,
        _ => Scope::All,
    }
}

fn where_scope(where_: &str) -> Scope {
    match where_ {
        "core" => Scope::All,
        other => match other.parse::<Platform>() {
            Ok(p) if p.as_str() == other => Scope::Only(p),
            _ => Scope::Never,
        },
    }
}

/// Exported, and failing with `undef` whatever the platform (found by tests/vm/test_compat_agrees.py):
/// `crypto:crypto_init/3` calls `crypto_init/4` locally, which reaches the Erlang stub, not the NIF.
pub const BROKEN: &[(&str, &str, u32)] = &[("crypto", "crypto_init", 3)];

/// AtomVM's library modules that declare `-callback`s (at the pinned commit), so have the
/// compiler-generated `behaviour_info/1`; its `supervisor`, `gen_event` and `application` do not.
const CALLBACK_MODULES: &[&str] = &[
    "gen_server",
    "gen_statem",
    "gpio_hal",
    "i2c_hal",
    "spi_hal",
    "sys",
    "uart_hal",
];

/// NIFs generic_unix compiles only against mbedTLS 3.6 or later (`mbedtls_ecdsa_der_to_raw`); the
/// generic_unix avmd builds and runs links Debian 12's 2.28 and lacks them (FACTS.md).
pub fn needs_mbedtls_3_6(condition: &str) -> bool {
    condition.contains("CRYPTO_SIGN_AVAILABLE") || condition.contains("CRYPTO_VERIFY_AVAILABLE")
}

/// The functions each platform has, parsed once from the embedded tables.
#[derive(Debug)]
pub struct ApiTable {
    /// Per platform: exact `(module, function, arity)` triples. Every name is literal: `erlang * 2` is
    /// the multiplication operator, not a wildcard (FACTS.md); the tables have no wildcard rows.
    /// Each with what provides it there (`Provider::describe`).
    exact: [HashMap<(String, String, u32), Provider>; 4],
    /// Per platform: modules that exist at all (to say "module absent" rather than "function absent").
    modules: [HashSet<String>; 4],
}

impl ApiTable {
    /// The tables of the AtomVM release avmd targets (see FACTS.md for the commit).
    pub fn atomvm() -> &'static ApiTable {
        static TABLE: OnceLock<ApiTable> = OnceLock::new();
        TABLE.get_or_init(|| ApiTable::parse(BIFS_NIFS_TSV, ESTDLIB_EXPORTS_TSV))
    }

    /// Builds a table from the two TSV texts (header line first). Malformed rows are skipped: the data is
    /// ours and checked by tests, and the check must not fail because of one odd row.
    pub fn parse(bifs_nifs: &str, estdlib_exports: &str) -> ApiTable {
        let mut t = ApiTable {
            exact: Default::default(),
            modules: Default::default(),
        };
        // bifs_nifs.tsv: module function arity where source condition
        let mut nifs = HashSet::new();
        for line in bifs_nifs.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 4 {
                continue;
            }
            nifs.insert((cols[0], cols[1], cols[2]));
            if cols[3] == "generic_unix" && cols.get(5).is_some_and(|c| needs_mbedtls_3_6(c)) {
                continue;
            }
            let provider = Provider::of_c(cols.get(4).copied().unwrap_or(""));
            t.add(where_scope(cols[3]), cols[0], cols[1], cols[2], provider);
        }
        // estdlib_exports.tsv: library module function arity source. An export that is also a NIF
        // (crypto:verify/5 in crypto.erl) is only the NIF's Erlang stub: it exists where the NIF does.
        for line in estdlib_exports.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 4 || nifs.contains(&(cols[1], cols[2], cols[3])) {
                continue;
            }
            let provider = Provider::Library(cols[0].to_string());
            t.add(library_scope(cols[0]), cols[1], cols[2], cols[3], provider);
        }
        t
    }

    fn add(&mut self, scope: Scope, module: &str, function: &str, arity: &str, provider: Provider) {
        let platforms: &[Platform] = match scope {
            Scope::All => &Platform::ALL,
            Scope::Only(ref p) => std::slice::from_ref(p),
            Scope::Never => &[],
        };
        for p in platforms {
            let i = p.index();
            self.modules[i].insert(module.to_string());
            if let Ok(a) = arity.parse::<u32>() {
                // The first row wins: the C function, where a library also has an Erlang stub.
                self.exact[i]
                    .entry((module.to_string(), function.to_string(), a))
                    .or_insert_with(|| provider.clone());
            }
        }
    }

    /// Whether a device of `platform` can call `mfa`.
    pub fn has(&self, platform: Platform, mfa: &Mfa) -> bool {
        let i = platform.index();
        if BROKEN
            .iter()
            .any(|(m, f, a)| mfa.module == *m && mfa.function == *f && mfa.arity == *a)
        {
            return false;
        }
        // Lookups by borrowed tuples would need a custom key type; the clones are cheap next to a build.
        self.exact[i].contains_key(&(mfa.module.clone(), mfa.function.clone(), mfa.arity))
            // generated by the compiler from a module's -callback attributes, so in no export table
            || (mfa.function == "behaviour_info"
                && mfa.arity == 1
                && CALLBACK_MODULES.contains(&mfa.module.as_str())
                && self.modules[i].contains(&mfa.module))
    }

    /// Whether `platform` has any function of `module` (so a miss is one function, not a whole module).
    pub fn has_module(&self, platform: Platform, module: &str) -> bool {
        self.modules[platform.index()].contains(module)
    }
}

impl ApiTable {
    /// What provides `mfa` on `platform` (`None` where it is missing).
    pub fn provider(&self, platform: Platform, mfa: &Mfa) -> Option<Provider> {
        if !self.has(platform, mfa) {
            return None;
        }
        let key = (mfa.module.clone(), mfa.function.clone(), mfa.arity);
        Some(
            self.exact[platform.index()]
                .get(&key)
                .cloned()
                .unwrap_or(Provider::Generated),
        )
    }

    /// The functions of `module` a device of `platform` has, sorted by name then arity.
    pub fn functions(&self, platform: Platform, module: &str) -> Vec<(String, u32)> {
        let mut out: Vec<(String, u32)> = self.exact[platform.index()]
            .keys()
            .filter(|(m, _, _)| m == module)
            .map(|(_, f, a)| (f.clone(), *a))
            .filter(|(f, a)| {
                !BROKEN
                    .iter()
                    .any(|(bm, bf, ba)| *bm == module && bf == f && ba == a)
            })
            .collect();
        out.sort();
        out
    }

    /// Every module `platform` has at least one function of, sorted.
    pub fn modules(&self, platform: Platform) -> Vec<&str> {
        let mut out: Vec<&str> = self.modules[platform.index()]
            .iter()
            .map(String::as_str)
            .collect();
        out.sort();
        out
    }

    /// What a missing call could become on `platform`: a known rewrite first (`alternatives`), else
    /// the same function at another arity, the same name and arity in another module, or a name in
    /// the same module within two edits. `None` when nothing is close.
    pub fn suggest(&self, platform: Platform, mfa: &Mfa) -> Option<Suggestion> {
        if let Some(a) = crate::alternatives::find(mfa) {
            return Some(Suggestion::Rewrite(a));
        }
        let exact = &self.exact[platform.index()];
        let mut by_module: BTreeMap<u32, Vec<Mfa>> = BTreeMap::new();
        for (m, f, a) in exact.keys() {
            let candidate = Mfa::new(m, f, *a);
            let rank = if *m == mfa.module && *f == mfa.function {
                0
            } else if *f == mfa.function && *a == mfa.arity && !m.starts_with("Elixir.") {
                1
            } else if *m == mfa.module && *a == mfa.arity && edit_distance(f, &mfa.function) <= 2 {
                2
            } else {
                continue;
            };
            if self.has(platform, &candidate) {
                by_module.entry(rank).or_default().push(candidate);
            }
        }
        let (_, mut best) = by_module.into_iter().next()?;
        best.sort_by(|a, b| {
            (a.arity.abs_diff(mfa.arity), a).cmp(&(b.arity.abs_diff(mfa.arity), b))
        });
        Some(Suggestion::Call(best.swap_remove(0)))
    }
}

/// What a missing call could be replaced with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suggestion {
    /// A known rewrite into calls every platform has.
    Rewrite(&'static crate::alternatives::Alternative),
    /// The nearest function that exists.
    Call(Mfa),
}

impl Suggestion {
    /// "use lists:foldl/3: lists:foldl(fun(X, Acc) -> X + Acc end, 0, List)" or "did you mean lists:join/2?".
    pub fn message(&self) -> String {
        match self {
            Suggestion::Rewrite(a) => format!("use {}", a.example()),
            Suggestion::Call(m) => format!("nearest that exists: {m}"),
        }
    }
}

/// Levenshtein distance of two short names (function names; bounded by their length).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// What provides a function on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// A BIF of the C core (`bifs.gperf`).
    Bif,
    /// A NIF of the C core or a platform component, with the C file that has it.
    Nif(String),
    /// An Erlang or Elixir library AtomVM ships (`estdlib`, `eavmlib`, `avm_esp32`, `exavmlib`, ...).
    Library(String),
    /// Made by the compiler (`behaviour_info/1`).
    Generated,
}

impl Provider {
    /// From the `source` column of bifs_nifs.tsv (`src/libAtomVM/bifs.gperf:bif`, `...nifs.gperf:nif`,
    /// or a C file).
    fn of_c(source: &str) -> Provider {
        if source.ends_with(":bif") {
            return Provider::Bif;
        }
        let file = source.split(':').next().unwrap_or(source);
        Provider::Nif(file.rsplit('/').next().unwrap_or(file).to_string())
    }

    pub fn describe(&self) -> String {
        match self {
            Provider::Bif => "BIF (C core)".to_string(),
            Provider::Nif(file) if file.ends_with(".gperf") => "NIF (C core)".to_string(),
            Provider::Nif(file) => format!("NIF ({file})"),
            Provider::Library(lib) => format!("{lib} library"),
            Provider::Generated => "generated by the compiler".to_string(),
        }
    }
}

/// One call a device cannot make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    /// The module that makes the call.
    pub module: String,
    pub call: Mfa,
    pub platform: Platform,
    /// Whether the called module is absent from the platform altogether.
    pub module_absent: bool,
}

impl Miss {
    /// A one-line message: "lists:sum/1 is not available on AtomVM (esp32)", with the absent module named.
    pub fn message(&self) -> String {
        if self.module_absent {
            format!(
                "{} is not available on AtomVM ({}): the module {} does not exist there",
                self.call, self.platform, self.call.module
            )
        } else {
            format!(
                "{} is not available on AtomVM ({})",
                self.call, self.platform
            )
        }
    }
}

/// Checks each module's imports against `platform`. Calls into the modules being checked (the project
/// and the libraries bundled with it) always count as present. Misses come out in module order, then
/// import-table order, one per distinct call per module.
pub fn check(modules: &[(String, Vec<Mfa>)], platform: Platform) -> Vec<Miss> {
    check_with(ApiTable::atomvm(), modules, &[], platform)
}

/// `check` with an explicit table and extra modules that are present on the device (for instance the
/// modules of extra `.avm` libraries the bundle is deployed with).
pub fn check_with(
    table: &ApiTable,
    modules: &[(String, Vec<Mfa>)],
    also_present: &[String],
    platform: Platform,
) -> Vec<Miss> {
    let own: HashSet<&str> = modules
        .iter()
        .map(|(m, _)| m.as_str())
        .chain(also_present.iter().map(String::as_str))
        .collect();
    let mut misses = Vec::new();
    for (module, imports) in modules {
        let mut seen = HashSet::new();
        for call in imports {
            if own.contains(call.module.as_str()) || table.has(platform, call) || !seen.insert(call)
            {
                continue;
            }
            misses.push(Miss {
                module: module.clone(),
                call: call.clone(),
                platform,
                module_absent: !table.has_module(platform, &call.module),
            });
        }
    }
    misses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(module: &str, calls: &[Mfa]) -> Vec<(String, Vec<Mfa>)> {
        vec![(module.to_string(), calls.to_vec())]
    }

    #[test]
    fn lists_sum_is_missing_and_lists_map_is_present_on_esp32() {
        let misses = check(
            &one(
                "m",
                &[Mfa::new("lists", "sum", 1), Mfa::new("lists", "map", 2)],
            ),
            Platform::Esp32,
        );
        assert_eq!(misses.len(), 1);
        assert_eq!(misses[0].call, Mfa::new("lists", "sum", 1));
        assert!(!misses[0].module_absent);
        assert_eq!(
            misses[0].message(),
            "lists:sum/1 is not available on AtomVM (esp32)"
        );
    }

    #[test]
    fn absent_modules_are_named_as_such() {
        let misses = check(&one("m", &[Mfa::new("re", "run", 2)]), Platform::Esp32);
        assert!(misses[0].module_absent);
    }

    #[test]
    fn platform_rows_count_only_on_their_platform() {
        let call = Mfa::new("esp", "nvs_get_binary", 1);
        assert!(ApiTable::atomvm().has(Platform::Esp32, &call));
        assert!(!ApiTable::atomvm().has(Platform::Rp2, &call));
    }

    #[test]
    fn star_rows_are_literal_names_not_wildcards() {
        // erlang:'*'/2 is multiplication: it says nothing of erlang:phash2/2
        let t = ApiTable::atomvm();
        assert!(t.has(Platform::Esp32, &Mfa::new("erlang", "*", 2)));
        assert!(!t.has(Platform::GenericUnix, &Mfa::new("erlang", "phash2", 2)));
        assert!(!t.has(
            Platform::GenericUnix,
            &Mfa::new("erlang", "send_nosuspend", 2)
        ));
        let t = ApiTable::parse("m\tf\ta\tw\n", "l\tlib\tm\tx\tsrc\nalisp\tstd\t*\t1\tsrc\n");
        assert!(t.has(Platform::Rp2, &Mfa::new("std", "*", 1)));
        assert!(!t.has(Platform::Rp2, &Mfa::new("std", "anything", 1)));
    }

    #[test]
    fn behaviour_info_exists_where_its_module_declares_callbacks() {
        let t = ApiTable::atomvm();
        assert!(!t.has(
            Platform::Esp32,
            &Mfa::new("supervisor", "behaviour_info", 1)
        ));
        assert!(t.has(
            Platform::Esp32,
            &Mfa::new("gen_server", "behaviour_info", 1)
        ));
        assert!(!t.has(
            Platform::Esp32,
            &Mfa::new("no_such_module", "behaviour_info", 1)
        ));
    }

    #[test]
    fn the_projects_own_modules_count_as_present() {
        let modules = vec![
            ("a".to_string(), vec![Mfa::new("b", "go", 0)]),
            ("b".to_string(), vec![]),
        ];
        assert!(check(&modules, Platform::Stm32).is_empty());
    }

    #[test]
    fn profiles_map_to_platforms() {
        assert_eq!("esp32c3".parse(), Ok(Platform::Esp32));
        assert_eq!("pico_w".parse(), Ok(Platform::Rp2));
        assert_eq!("generic_unix".parse(), Ok(Platform::GenericUnix));
        assert!("z80".parse::<Platform>().is_err());
    }
}

#[cfg(test)]
mod lookups {
    use super::*;

    #[test]
    fn providers_say_where_a_function_comes_from() {
        let t = ApiTable::atomvm();
        assert_eq!(
            t.provider(Platform::Esp32, &Mfa::new("erlang", "length", 1)),
            Some(Provider::Bif)
        );
        assert_eq!(
            t.provider(Platform::Esp32, &Mfa::new("lists", "map", 2))
                .map(|p| p.describe()),
            Some("estdlib library".to_string())
        );
        assert_eq!(
            t.provider(Platform::Esp32, &Mfa::new("lists", "sum", 1)),
            None
        );
        let nvs = t
            .provider(Platform::Esp32, &Mfa::new("esp", "nvs_get_binary", 1))
            .unwrap();
        assert!(
            matches!(nvs, Provider::Nif(_) | Provider::Library(_)),
            "{nvs:?}"
        );
    }

    #[test]
    fn functions_and_modules_are_what_the_platform_has() {
        let t = ApiTable::atomvm();
        let lists = t.functions(Platform::Esp32, "lists");
        assert!(lists.contains(&("map".to_string(), 2)));
        assert!(!lists.iter().any(|(f, _)| f == "sum"));
        assert!(t.functions(Platform::Rp2, "esp").is_empty());
        let mods = t.modules(Platform::Esp32);
        assert!(mods.contains(&"gen_server") && mods.contains(&"esp") && !mods.contains(&"re"));
        assert!(!t
            .functions(Platform::GenericUnix, "crypto")
            .contains(&("crypto_init".to_string(), 3)));
    }

    #[test]
    fn suggestions_prefer_known_rewrites_then_near_names() {
        let t = ApiTable::atomvm();
        assert!(matches!(
            t.suggest(Platform::Esp32, &Mfa::new("lists", "sum", 1)),
            Some(Suggestion::Rewrite(_))
        ));
        // a typo in the name
        assert_eq!(
            t.suggest(Platform::Esp32, &Mfa::new("lists", "revers", 1)),
            Some(Suggestion::Call(Mfa::new("lists", "reverse", 1)))
        );
        assert_eq!(t.suggest(Platform::Esp32, &Mfa::new("re", "run", 2)), None);
    }
}
