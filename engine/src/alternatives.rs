//! Known rewrites of calls AtomVM lacks into calls every platform has, for hovers and quick fixes.
//! Each is a template over the call's arguments (`$1`, `$2`); a test checks that every call a
//! template makes exists on every platform and that every rewritten call is really missing. Pure.

use crate::beam::Mfa;

#[derive(Debug, PartialEq, Eq)]
pub struct Alternative {
    pub module: &'static str,
    pub function: &'static str,
    pub arity: u32,
    /// What the arguments are, for showing the rewrite (`List`, `Sep`).
    pub args: &'static [&'static str],
    /// Erlang source with `$N` for the Nth argument.
    pub template: &'static str,
    /// When the rewrite is not exactly the same, what differs.
    pub caveat: Option<&'static str>,
}

pub const ALTERNATIVES: &[Alternative] = &[
    Alternative {
        module: "lists",
        function: "sum",
        arity: 1,
        args: &["List"],
        template: "lists:foldl(fun(X, Acc) -> X + Acc end, 0, $1)",
        caveat: None,
    },
    Alternative {
        module: "string",
        function: "join",
        arity: 2,
        args: &["List", "Sep"],
        template: "lists:flatten(lists:join($2, $1))",
        caveat: None,
    },
    Alternative {
        module: "string",
        function: "tokens",
        arity: 2,
        args: &["String", "Sep"],
        template: "[T || T <- string:split($1, $2, all), T =/= []]",
        caveat: Some("the same for a one-character separator"),
    },
    Alternative {
        module: "string",
        function: "uppercase",
        arity: 1,
        args: &["String"],
        template: "string:to_upper($1)",
        caveat: Some("for a list string; ASCII letters only"),
    },
    Alternative {
        module: "string",
        function: "lowercase",
        arity: 1,
        args: &["String"],
        template: "string:to_lower($1)",
        caveat: Some("for a list string; ASCII letters only"),
    },
    Alternative {
        module: "string",
        function: "strip",
        arity: 1,
        args: &["String"],
        template: "string:trim($1)",
        caveat: Some("trims all whitespace, not only spaces"),
    },
    Alternative {
        module: "binary",
        function: "bin_to_list",
        arity: 1,
        args: &["Bin"],
        template: "erlang:binary_to_list($1)",
        caveat: None,
    },
    Alternative {
        module: "lists",
        function: "unzip",
        arity: 1,
        args: &["List"],
        template: "{[A || {A, _} <- $1], [B || {_, B} <- $1]}",
        caveat: None,
    },
    Alternative {
        module: "lists",
        function: "partition",
        arity: 2,
        args: &["Pred", "List"],
        template: "{[X || X <- $2, ($1)(X)], [X || X <- $2, not ($1)(X)]}",
        caveat: None,
    },
    Alternative {
        module: "lists",
        function: "subtract",
        arity: 2,
        args: &["A", "B"],
        template: "$1 -- $2",
        caveat: None,
    },
    Alternative {
        module: "maps",
        function: "with",
        arity: 2,
        args: &["Keys", "Map"],
        template: "maps:filter(fun(K, _) -> lists:member(K, $1) end, $2)",
        caveat: None,
    },
    Alternative {
        module: "maps",
        function: "without",
        arity: 2,
        args: &["Keys", "Map"],
        template: "maps:filter(fun(K, _) -> not lists:member(K, $1) end, $2)",
        caveat: None,
    },
    Alternative {
        module: "os",
        function: "timestamp",
        arity: 0,
        args: &[],
        template: "erlang:timestamp()",
        caveat: None,
    },
];

/// The known rewrite of `mfa`, if there is one.
pub fn find(mfa: &Mfa) -> Option<&'static Alternative> {
    ALTERNATIVES
        .iter()
        .find(|a| a.module == mfa.module && a.function == mfa.function && a.arity == mfa.arity)
}

impl Alternative {
    pub fn mfa(&self) -> Mfa {
        Mfa::new(self.module, self.function, self.arity)
    }

    /// The template with its arguments filled in; an argument that is itself an expression of
    /// operators is parenthesised where the template puts it next to one.
    pub fn apply(&self, args: &[String]) -> Option<String> {
        if args.len() != self.arity as usize {
            return None;
        }
        let mut out = self.template.to_string();
        // From the highest index down, so `$1` does not eat the start of `$10`.
        for (i, a) in args.iter().enumerate().rev() {
            out = out.replace(&format!("${}", i + 1), a.trim());
        }
        Some(out)
    }

    /// The template with readable names for the arguments, for hovers and messages.
    pub fn example(&self) -> String {
        let args: Vec<String> = self.args.iter().map(|a| a.to_string()).collect();
        let shown = self
            .apply(&args)
            .unwrap_or_else(|| self.template.to_string());
        match self.caveat {
            Some(c) => format!("{shown} ({c})"),
            None => shown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compat::{ApiTable, Platform};
    use crate::syntax::{self, Lang};

    #[test]
    fn every_rewrite_is_of_a_missing_call_into_calls_every_platform_has() {
        let t = ApiTable::atomvm();
        for a in ALTERNATIVES {
            for p in Platform::ALL {
                assert!(
                    !t.has(p, &a.mfa()),
                    "{} exists on {p}: no rewrite needed",
                    a.mfa()
                );
            }
            let args: Vec<String> = (0..a.arity).map(|i| format!("A{i}")).collect();
            let code = format!("f() -> {}.\n", a.apply(&args).unwrap());
            assert_eq!(
                a.args.len(),
                a.arity as usize,
                "{}: one name per argument",
                a.mfa()
            );
            let facts = syntax::read(Lang::Erlang, &code);
            assert!(facts.errors.is_empty(), "{code}: {:?}", facts.errors);
            for call in &facts.calls {
                for p in Platform::ALL {
                    assert!(
                        t.has(p, &call.mfa),
                        "{}: {} is missing on {p}",
                        a.mfa(),
                        call.mfa
                    );
                }
            }
        }
    }

    #[test]
    fn arguments_fill_the_template() {
        let sum = find(&Mfa::new("lists", "sum", 1)).unwrap();
        assert_eq!(
            sum.apply(&["[1, 2]".into()]).unwrap(),
            "lists:foldl(fun(X, Acc) -> X + Acc end, 0, [1, 2])"
        );
        assert_eq!(sum.apply(&[]), None);
        assert_eq!(
            sum.example(),
            "lists:foldl(fun(X, Acc) -> X + Acc end, 0, List)"
        );
        assert!(find(&Mfa::new("lists", "map", 2)).is_none());
    }
}
