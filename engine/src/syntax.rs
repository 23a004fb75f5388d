//! What a source text says, read without compiling it: syntax errors, remote calls with their arity,
//! function definitions, declared behaviours and literal socket options. Parsed with tree-sitter
//! (Erlang and Elixir grammars), so it works on unsaved, half-typed text in well under a millisecond
//! per module; the compiler stays the authority on save. Pure: text in, facts out.

use crate::beam::Mfa;
use std::path::Path;
use tree_sitter::{Node, Parser, Tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Erlang,
    Elixir,
}

impl Lang {
    /// `.erl`/`.hrl` are Erlang, `.ex`/`.exs` Elixir; anything else is not read.
    pub fn of(path: &Path) -> Option<Lang> {
        match path.extension()?.to_str()? {
            "erl" | "hrl" => Some(Lang::Erlang),
            "ex" | "exs" => Some(Lang::Elixir),
            _ => None,
        }
    }
}

/// A stretch of source: 1-based lines, 1-based columns counted in characters (the engine's convention).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

impl Span {
    /// Whether the 1-based `line`/`column` falls inside (end inclusive, so a cursor just after a name counts).
    pub fn contains(&self, line: u32, column: u32) -> bool {
        (line, column) >= (self.line, self.column)
            && (line, column) <= (self.end_line, self.end_column)
    }

    /// Characters from `column` to the end, when the span is on one line (0 otherwise).
    pub fn width(&self) -> u32 {
        if self.line == self.end_line {
            self.end_column.saturating_sub(self.column)
        } else {
            0
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

/// A call `m:f(...)` (or `fun m:f/N`, or Elixir's `:m.f(...)`) whose module and function are literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub mfa: Mfa,
    /// From the module name to the end of the function name.
    pub span: Span,
    /// The whole call expression, arguments included (what a quick fix replaces).
    pub expr: Span,
    /// The source text of each argument, in order (empty for `fun m:f/N`).
    pub args: Vec<String>,
}

/// One function definition: its name, arity and the span of the name in its first clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub arity: u32,
    pub span: Span,
    /// Elixir's `defp`; Erlang functions are private unless exported (see `Facts::exports`).
    pub private: bool,
}

/// A socket option AtomVM does not honour, found in a literal option list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOption {
    pub span: Span,
    pub message: String,
}

/// Everything `read` found in one text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub module: Option<String>,
    pub errors: Vec<SyntaxError>,
    pub calls: Vec<Call>,
    pub functions: Vec<Function>,
    /// `-behaviour(M)` / `@behaviour :m`, with the span of the name.
    pub behaviours: Vec<(String, Span)>,
    /// `-export([...])` entries (Erlang), or every public `def` (Elixir).
    pub exports: Vec<(String, u32)>,
    pub export_all: bool,
    /// The line of the last `-export` attribute, where a quick fix adds names (Erlang).
    pub export_line: Option<u32>,
    pub socket_options: Vec<SocketOption>,
}

/// At most this many syntax errors are reported: after a few, the rest are echoes of the first.
const MAX_ERRORS: usize = 20;

/// Parses `text` and collects its facts. Never fails: a text that does not parse yields its errors
/// and whatever the parser could still recognise around them.
pub fn read(lang: Lang, text: &str) -> Facts {
    let Some(tree) = parse(lang, text) else {
        return Facts::default();
    };
    let lines = LineIndex::new(text);
    let mut r = Reader {
        text,
        lines: &lines,
        facts: Facts::default(),
    };
    let root = tree.root_node();
    r.errors(root);
    match lang {
        Lang::Erlang => r.erlang(root),
        Lang::Elixir => r.elixir(root),
    }
    r.facts
}

fn parse(lang: Lang, text: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    let language = match lang {
        Lang::Erlang => tree_sitter_erlang::LANGUAGE,
        Lang::Elixir => tree_sitter_elixir::LANGUAGE,
    };
    parser.set_language(&language.into()).ok()?;
    parser.parse(text, None)
}

/// Byte offsets of line starts, to turn tree-sitter's byte columns into character columns.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line and character column of a byte offset.
    fn at(&self, text: &str, byte: usize) -> (u32, u32) {
        let row = self
            .starts
            .partition_point(|&s| s <= byte)
            .saturating_sub(1);
        let start = self.starts[row];
        let col = text
            .get(start..byte.min(text.len()))
            .map_or(0, |s| s.chars().count());
        (row as u32 + 1, col as u32 + 1)
    }
}

struct Reader<'a> {
    text: &'a str,
    lines: &'a LineIndex,
    facts: Facts,
}

/// The named children of `node` (tree-sitter's cursor API, collected).
fn named(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

fn field<'t>(node: Node<'t>, name: &str) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.children_by_field_name(name, &mut cursor).collect()
}

/// An Erlang atom's name, quotes removed.
fn atom_name(text: &str) -> String {
    text.strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .unwrap_or(text)
        .to_string()
}

impl<'a> Reader<'a> {
    fn text_of(&self, node: Node) -> &'a str {
        self.text.get(node.byte_range()).unwrap_or("")
    }

    fn span(&self, node: Node) -> Span {
        self.span_of(node.start_byte(), node.end_byte())
    }

    fn span_of(&self, start: usize, end: usize) -> Span {
        let (line, column) = self.lines.at(self.text, start);
        let (end_line, end_column) = self.lines.at(self.text, end);
        Span {
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// ERROR and MISSING nodes, outermost only (an error inside an error is the same mistake).
    fn errors(&mut self, node: Node) {
        if self.facts.errors.len() >= MAX_ERRORS || !node.has_error() {
            return;
        }
        if node.is_missing() {
            let what = node.kind();
            self.facts.errors.push(SyntaxError {
                span: self.span(node),
                message: format!("syntax error: missing {what}"),
            });
            return;
        }
        if node.is_error() {
            let text = self.text_of(node);
            let first: String = text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .chars()
                .take(40)
                .collect();
            // An error node that spans lines is underlined on its first line only: the rest is noise.
            let mut span = self.span(node);
            if span.end_line != span.line {
                let line_end = self.text[node.start_byte()..]
                    .find('\n')
                    .map_or(self.text.len(), |i| node.start_byte() + i);
                span = self.span_of(node.start_byte(), line_end);
            }
            let message = if first.is_empty() {
                "syntax error".to_string()
            } else {
                format!("syntax error before: {first}")
            };
            self.facts.errors.push(SyntaxError { span, message });
            return;
        }
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        for c in children {
            self.errors(c);
        }
    }

    // ---- Erlang ----

    fn erlang(&mut self, root: Node) {
        for form in named(root) {
            match form.kind() {
                "module_attribute" => {
                    if let Some(n) = field(form, "name").first() {
                        self.facts.module = Some(atom_name(self.text_of(*n)));
                    }
                }
                "behaviour_attribute" => {
                    if let Some(n) = field(form, "name").first() {
                        let name = atom_name(self.text_of(*n));
                        let span = self.span(*n);
                        self.facts.behaviours.push((name, span));
                    }
                }
                "export_attribute" => {
                    for fa in field(form, "funs") {
                        if let Some(e) = self.fa(fa) {
                            self.facts.exports.push(e);
                        }
                    }
                    self.facts.export_line = Some(self.span(form).line);
                }
                "compile_options_attribute" if self.text_of(form).contains("export_all") => {
                    self.facts.export_all = true;
                }
                "fun_decl" => self.erlang_fun(form),
                _ => {}
            }
            self.erlang_exprs(form);
        }
    }

    fn fa(&self, fa: Node) -> Option<(String, u32)> {
        let name = atom_name(self.text_of(*field(fa, "fun").first()?));
        let arity = *field(fa, "arity").first()?;
        let value = field(arity, "value").first().map_or(arity, |v| *v);
        Some((name, self.text_of(value).trim().parse().ok()?))
    }

    fn erlang_fun(&mut self, decl: Node) {
        let Some(clause) = field(decl, "clause").into_iter().next() else {
            return;
        };
        let Some(name) = field(clause, "name").into_iter().next() else {
            return;
        };
        let arity = field(clause, "args")
            .first()
            .map_or(0, |a| field(*a, "args").len() as u32);
        let name_text = atom_name(self.text_of(name));
        // Clauses after a `;` may come as forms of their own: one function all the same.
        if self
            .facts
            .functions
            .last()
            .is_some_and(|f| f.name == name_text && f.arity == arity)
        {
            return;
        }
        self.facts.functions.push(Function {
            name: name_text,
            arity,
            span: self.span(name),
            private: false,
        });
    }

    /// Every remote call and literal socket option list under `node`.
    fn erlang_exprs(&mut self, node: Node) {
        match node.kind() {
            "remote" => self.erlang_remote(node),
            "external_fun" => self.erlang_external_fun(node),
            _ => {}
        }
        for c in named(node) {
            self.erlang_exprs(c);
        }
    }

    /// `m:f(Args)`. The grammar nests it either way round (`remote` with a `call` as its `fun`, or a
    /// `call` whose `expr` is the `remote`); both are read here.
    fn erlang_remote(&mut self, remote: Node) {
        let Some(module) = field(remote, "module")
            .first()
            .and_then(|m| field(*m, "module").first().copied())
        else {
            return;
        };
        if module.kind() != "atom" {
            return; // a variable or macro: not known until run time
        }
        let Some(fun) = field(remote, "fun").first().copied() else {
            return;
        };
        let (name_node, args_node, expr) = match fun.kind() {
            "call" => (
                field(fun, "expr").first().copied(),
                field(fun, "args").first().copied(),
                remote,
            ),
            "atom" => match remote.parent() {
                Some(p) if p.kind() == "call" => (Some(fun), field(p, "args").first().copied(), p),
                _ => return,
            },
            _ => return,
        };
        let (Some(name_node), Some(args_node)) = (name_node, args_node) else {
            return;
        };
        if name_node.kind() != "atom" {
            return;
        }
        let args: Vec<Node> = field(args_node, "args");
        let mfa = Mfa::new(
            &atom_name(self.text_of(module)),
            &atom_name(self.text_of(name_node)),
            args.len() as u32,
        );
        self.socket_options(&mfa, &args, Lang::Erlang);
        self.facts.calls.push(Call {
            span: self.span_of(module.start_byte(), name_node.end_byte()),
            expr: self.span(expr),
            args: args.iter().map(|a| self.text_of(*a).to_string()).collect(),
            mfa,
        });
    }

    fn erlang_external_fun(&mut self, node: Node) {
        let module = field(node, "module")
            .first()
            .and_then(|m| field(*m, "name").first().copied());
        let fun = field(node, "fun").first().copied();
        let arity = field(node, "arity")
            .first()
            .and_then(|a| field(*a, "value").first().copied());
        let (Some(module), Some(fun), Some(arity)) = (module, fun, arity) else {
            return;
        };
        if module.kind() != "atom" || fun.kind() != "atom" {
            return;
        }
        let Ok(arity) = self.text_of(arity).trim().parse() else {
            return;
        };
        self.facts.calls.push(Call {
            mfa: Mfa::new(
                &atom_name(self.text_of(module)),
                &atom_name(self.text_of(fun)),
                arity,
            ),
            span: self.span_of(module.start_byte(), fun.end_byte()),
            expr: self.span(node),
            args: Vec::new(),
        });
    }

    // ---- Elixir ----

    fn elixir(&mut self, root: Node) {
        self.elixir_node(root);
    }

    fn elixir_node(&mut self, node: Node) {
        if node.kind() == "call" {
            self.elixir_call(node);
        } else if node.kind() == "unary_operator" {
            self.elixir_attribute(node);
        }
        for c in named(node) {
            self.elixir_node(c);
        }
    }

    /// `@behaviour :m`.
    fn elixir_attribute(&mut self, node: Node) {
        let Some(call) = field(node, "operand").first().copied() else {
            return;
        };
        if call.kind() != "call" || !self.text_of(node).starts_with('@') {
            return;
        }
        let target = field(call, "target").first().map(|t| self.text_of(*t));
        if target != Some("behaviour") {
            return;
        }
        let Some(arg) = named(call)
            .into_iter()
            .find(|n| n.kind() == "arguments")
            .and_then(|a| named(a).first().copied())
        else {
            return;
        };
        let name = match arg.kind() {
            "atom" => self.text_of(arg).trim_start_matches(':').to_string(),
            "alias" => format!("Elixir.{}", self.text_of(arg)),
            _ => return,
        };
        let span = self.span(arg);
        self.facts.behaviours.push((name, span));
    }

    fn elixir_call(&mut self, call: Node) {
        let Some(target) = field(call, "target").first().copied() else {
            return;
        };
        let arguments = named(call).into_iter().find(|n| n.kind() == "arguments");
        let args: Vec<Node> = arguments.map(named).unwrap_or_default();
        match target.kind() {
            "identifier" => {
                let kw = self.text_of(target);
                if kw == "def" || kw == "defp" {
                    self.elixir_def(&args, kw == "defp");
                } else if kw == "defmodule" {
                    if let Some(a) = args.first().filter(|a| a.kind() == "alias") {
                        self.facts.module = Some(format!("Elixir.{}", self.text_of(*a)));
                    }
                }
            }
            "dot" => {
                let left = field(target, "left").first().copied();
                let right = field(target, "right").first().copied();
                let (Some(left), Some(right)) = (left, right) else {
                    return;
                };
                if right.kind() != "identifier" {
                    return;
                }
                let module = match left.kind() {
                    "atom" => self.text_of(left).trim_start_matches(':').to_string(),
                    "alias" => format!("Elixir.{}", self.text_of(left)),
                    _ => return,
                };
                let mfa = Mfa::new(&module, self.text_of(right), args.len() as u32);
                self.socket_options(&mfa, &args, Lang::Elixir);
                self.facts.calls.push(Call {
                    span: self.span_of(left.start_byte(), right.end_byte()),
                    expr: self.span(call),
                    args: args.iter().map(|a| self.text_of(*a).to_string()).collect(),
                    mfa,
                });
            }
            _ => {}
        }
    }

    /// `def name(args)` / `def name(args), do: ...` / `def name(args) when ...`.
    fn elixir_def(&mut self, args: &[Node], private: bool) {
        let Some(mut head) = args.first().copied() else {
            return;
        };
        if head.kind() == "binary_operator" {
            // `def f(x) when guard`
            match field(head, "left").first() {
                Some(l) => head = *l,
                None => return,
            }
        }
        let (name_node, arity) = match head.kind() {
            "call" => {
                let Some(t) = field(head, "target").first().copied() else {
                    return;
                };
                let n = named(head)
                    .into_iter()
                    .find(|n| n.kind() == "arguments")
                    .map_or(0, |a| named(a).len() as u32);
                (t, n)
            }
            "identifier" => (head, 0),
            _ => return,
        };
        let name = self.text_of(name_node).to_string();
        if self
            .facts
            .functions
            .iter()
            .any(|f| f.name == name && f.arity == arity)
        {
            return; // a later clause of the same function
        }
        if !private {
            self.facts.exports.push((name.clone(), arity));
        }
        self.facts.functions.push(Function {
            name,
            arity,
            span: self.span(name_node),
            private,
        });
    }

    // ---- socket options ----

    /// Literal option lists of the calls that take them: `gen_tcp:listen/2`, `gen_tcp:connect/3,4`,
    /// `gen_udp:open/2` (../shared/atomvm/FACTS.md, "Sockets").
    fn socket_options(&mut self, mfa: &Mfa, args: &[Node], lang: Lang) {
        let at = match (mfa.module.as_str(), mfa.function.as_str(), mfa.arity) {
            ("gen_tcp", "listen", 2) | ("gen_udp", "open", 2) => 1,
            ("gen_tcp", "connect", 3 | 4) => 2,
            _ => return,
        };
        let Some(list) = args.get(at).filter(|l| l.kind() == "list") else {
            return;
        };
        for item in named(*list) {
            if item.kind() == "keywords" {
                // Elixir's `[active: :once]`
                for pair in named(item) {
                    let key = field(pair, "key").first().map(|k| self.text_of(*k));
                    let value = field(pair, "value").first().copied();
                    if let (Some(key), Some(value)) = (key, value) {
                        let key = key.trim().trim_end_matches(':').to_string();
                        self.option(&key, Some(value), pair, lang);
                    }
                }
                continue;
            }
            match item.kind() {
                "atom" => {
                    let name = self.atom_of(item, lang);
                    self.option(&name, None, item, lang);
                }
                "tuple" => {
                    let parts = named(item);
                    if parts.len() == 2 && parts[0].kind() == "atom" {
                        let key = self.atom_of(parts[0], lang);
                        self.option(&key, Some(parts[1]), item, lang);
                    }
                }
                _ => {}
            }
        }
    }

    fn atom_of(&self, node: Node, lang: Lang) -> String {
        let t = self.text_of(node);
        match lang {
            Lang::Erlang => atom_name(t),
            Lang::Elixir => t.trim_start_matches(':').to_string(),
        }
    }

    fn option(&mut self, key: &str, value: Option<Node>, at: Node, lang: Lang) {
        let value_text = value.map(|v| self.atom_of(v, lang));
        let message = match (key, value_text.as_deref()) {
            ("active", Some("once")) => {
                "{active, once} is not supported on AtomVM: use {active, false} and gen_tcp:recv/3 (or {active, true})"
                    .to_string()
            }
            ("active", Some(n)) if n.parse::<i64>().is_ok() => {
                format!("{{active, {n}}} is not supported on AtomVM: use {{active, false}} and gen_tcp:recv/3 (or {{active, true}})")
            }
            ("packet", Some(_)) => {
                "{packet, _} is not supported on AtomVM: it delivers raw bytes, so frame them yourself (HTTP: httpd_parse)"
                    .to_string()
            }
            ("packet_size", Some(_)) => {
                "{packet_size, _} has no effect on AtomVM ({packet, _} is not supported)".to_string()
            }
            ("ip", Some(_)) => {
                "{ip, Addr} is ignored on AtomVM (it binds 0.0.0.0): use {address, Addr} with the inet backend or {ifaddr, Addr} with the socket backend"
                    .to_string()
            }
            ("inet6", None) => "IPv6 is not supported on AtomVM".to_string(),
            _ => return,
        };
        let span = self.span(at);
        self.facts
            .socket_options
            .push(SocketOption { span, message });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_calls_have_module_function_arity_and_place() {
        let f = read(
            Lang::Erlang,
            "-module(a).\nf() ->\n    X = lists:sum([1, 2]),\n    F = fun lists:map/2,\n    ?M:g(1), Var:g(2),\n    erlang:phash2(a, 3).\n",
        );
        let calls: Vec<String> = f.calls.iter().map(|c| c.mfa.to_string()).collect();
        assert_eq!(calls, ["lists:sum/1", "lists:map/2", "erlang:phash2/2"]);
        let sum = &f.calls[0];
        assert_eq!(
            (sum.span.line, sum.span.column, sum.span.width()),
            (3, 9, 9)
        );
        assert_eq!(sum.args, ["[1, 2]"]);
        assert_eq!((sum.expr.column, sum.expr.end_column), (9, 26));
        assert_eq!(f.module.as_deref(), Some("a"));
        assert!(f.errors.is_empty(), "{:?}", f.errors);
    }

    #[test]
    fn functions_exports_and_behaviours() {
        let f = read(
            Lang::Erlang,
            "-module(h).\n-behaviour(httpd_handler).\n-export([handle/2]).\nhandle(R, O) -> ok.\nhelper() -> 1.\nhelper(X) -> X.\n",
        );
        assert_eq!(f.behaviours[0].0, "httpd_handler");
        assert_eq!(f.exports, [("handle".to_string(), 2)]);
        assert_eq!(f.export_line, Some(3));
        let fs: Vec<(String, u32, u32)> = f
            .functions
            .iter()
            .map(|x| (x.name.clone(), x.arity, x.span.line))
            .collect();
        assert_eq!(
            fs,
            [
                ("handle".into(), 2, 4),
                ("helper".into(), 0, 5),
                ("helper".into(), 1, 6)
            ]
        );
    }

    #[test]
    fn syntax_errors_are_found_and_bounded() {
        let f = read(Lang::Erlang, "-module(a).\nf() -> (.\ng() -> ok.\n");
        assert!(!f.errors.is_empty());
        assert_eq!(f.errors[0].span.line, 2);
        let many: String = (0..100).map(|i| format!("f{i}() -> (.\n")).collect();
        assert!(read(Lang::Erlang, &many).errors.len() <= MAX_ERRORS);
        assert!(read(Lang::Erlang, "").errors.is_empty());
        // garbage never panics
        for junk in [
            "\u{0}\u{1}",
            "-module(",
            "'unterminated",
            "f() -> <<\"x",
            "\u{feff}é:ü()",
        ] {
            let _ = read(Lang::Erlang, junk);
            let _ = read(Lang::Elixir, junk);
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let f = read(Lang::Erlang, "f() -> \"é\", lists:sum([]).\n");
        assert_eq!(f.calls[0].span.column, 13);
    }

    #[test]
    fn socket_options_atomvm_lacks_are_flagged() {
        let f = read(
            Lang::Erlang,
            "f() -> gen_tcp:listen(80, [binary, {active, once}, {packet, http}, {ip, {127,0,0,1}}, inet6, {active, false}]).\n",
        );
        let msgs: Vec<&str> = f
            .socket_options
            .iter()
            .map(|o| o.message.as_str())
            .collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(msgs[0].starts_with("{active, once}"));
        assert!(msgs[1].starts_with("{packet, _}"));
        assert!(msgs[2].starts_with("{ip, Addr} is ignored"));
        assert_eq!(f.socket_options[0].span.column, 36);
        let ok = read(
            Lang::Erlang,
            "f() -> gen_tcp:listen(80, [binary, {active, true}]).\n",
        );
        assert!(ok.socket_options.is_empty());
    }

    #[test]
    fn elixir_calls_defs_behaviours_and_options() {
        let f = read(
            Lang::Elixir,
            "defmodule Hello.Api do\n  @behaviour :httpd_api_handler\n  def handle_api(\"GET\", _b, _j, _r), do: {:ok, :lists.sum([1, 2])}\n  defp x(a), do: Enum.map(a, & &1)\n  def l, do: :gen_tcp.listen(1, [:binary, active: :once])\nend\n",
        );
        assert_eq!(f.module.as_deref(), Some("Elixir.Hello.Api"));
        assert_eq!(f.behaviours[0].0, "httpd_api_handler");
        let calls: Vec<String> = f.calls.iter().map(|c| c.mfa.to_string()).collect();
        assert_eq!(
            calls,
            ["lists:sum/1", "Elixir.Enum:map/2", "gen_tcp:listen/2"]
        );
        assert_eq!(
            f.exports,
            [("handle_api".to_string(), 4), ("l".to_string(), 0)]
        );
        assert!(f.functions.iter().any(|x| x.name == "x" && x.private));
        assert_eq!(f.socket_options.len(), 1);
        assert!(f.errors.is_empty());
        assert_eq!(
            read(Lang::Elixir, "defmodule A do\n  def f(, do: 1\nend\n")
                .errors
                .len(),
            1
        );
    }
}

#[cfg(test)]
mod corpus {
    use super::*;

    /// Every module of the runtime and the examples compiles, so none may show a syntax error while
    /// typing: a false alarm there would be shown on every keystroke.
    #[test]
    fn the_repositorys_own_sources_read_without_errors() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for dir in ["runtime/src", "runtime/host", "examples", "tests"] {
            collect(&root.join(dir), &mut files);
        }
        assert!(files.len() > 50, "{}", files.len());
        let mut bad = Vec::new();
        for f in &files {
            let (Some(lang), Ok(text)) = (Lang::of(f), std::fs::read_to_string(f)) else {
                continue;
            };
            let facts = read(lang, &text);
            if let Some(e) = facts.errors.first() {
                bad.push(format!(
                    "{}:{}:{} {}",
                    f.display(),
                    e.span.line,
                    e.span.column,
                    e.message
                ));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name();
            if p.is_dir() && name != "_build" && name != "node_modules" {
                collect(&p, out);
            } else if Lang::of(&p).is_some() {
                out.push(p);
            }
        }
    }
}
