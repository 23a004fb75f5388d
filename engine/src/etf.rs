//! Erlang's external term format, encode only, for the few shapes the engine hands a VM: atoms,
//! integers, binaries, tuples and lists. `binary_to_term/1` on the other side reads it, so a bundle's
//! sections cross to the host harness without a second bundle parser in Erlang. Pure.

/// A term to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Atom(String),
    Int(i64),
    Binary(Vec<u8>),
    Tuple(Vec<Term>),
    List(Vec<Term>),
}

const VERSION: u8 = 131;
const SMALL_INTEGER_EXT: u8 = 97;
const INTEGER_EXT: u8 = 98;
const SMALL_BIG_EXT: u8 = 110;
const SMALL_TUPLE_EXT: u8 = 104;
const LARGE_TUPLE_EXT: u8 = 105;
const NIL_EXT: u8 = 106;
const LIST_EXT: u8 = 108;
const BINARY_EXT: u8 = 109;
const SMALL_ATOM_UTF8_EXT: u8 = 119;

impl Term {
    pub fn atom(name: &str) -> Term {
        Term::Atom(name.to_string())
    }
    pub fn bin(bytes: impl Into<Vec<u8>>) -> Term {
        Term::Binary(bytes.into())
    }
}

/// `term_to_binary(Term)`. Atoms longer than 255 bytes are cut at a character boundary (OTP's limit).
pub fn encode(term: &Term) -> Vec<u8> {
    let mut out = vec![VERSION];
    put(term, &mut out);
    out
}

fn put(term: &Term, out: &mut Vec<u8>) {
    match term {
        Term::Atom(name) => {
            let mut end = name.len().min(255);
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            out.push(SMALL_ATOM_UTF8_EXT);
            out.push(end as u8);
            out.extend_from_slice(&name.as_bytes()[..end]);
        }
        Term::Int(n) if (0..=255).contains(n) => {
            out.push(SMALL_INTEGER_EXT);
            out.push(*n as u8);
        }
        Term::Int(n) if i32::try_from(*n).is_ok() => {
            out.push(INTEGER_EXT);
            out.extend_from_slice(&(*n as i32).to_be_bytes());
        }
        Term::Int(n) => {
            out.push(SMALL_BIG_EXT);
            out.push(8);
            out.push(u8::from(*n < 0));
            out.extend_from_slice(&n.unsigned_abs().to_le_bytes());
        }
        Term::Binary(b) => {
            out.push(BINARY_EXT);
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
        Term::Tuple(items) => {
            if items.len() < 256 {
                out.push(SMALL_TUPLE_EXT);
                out.push(items.len() as u8);
            } else {
                out.push(LARGE_TUPLE_EXT);
                out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            }
            items.iter().for_each(|t| put(t, out));
        }
        Term::List(items) if items.is_empty() => out.push(NIL_EXT),
        Term::List(items) => {
            out.push(LIST_EXT);
            out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            items.iter().for_each(|t| put(t, out));
            out.push(NIL_EXT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn known_encodings() {
        assert_eq!(encode(&Term::atom("ok")), [131, 119, 2, b'o', b'k']);
        assert_eq!(encode(&Term::Int(7)), [131, 97, 7]);
        assert_eq!(encode(&Term::Int(-1)), [131, 98, 255, 255, 255, 255]);
        assert_eq!(encode(&Term::List(vec![])), [131, 106]);
        assert_eq!(
            encode(&Term::bin(*b"ab")),
            [131, 109, 0, 0, 0, 2, b'a', b'b']
        );
    }

    /// The real reader: OTP decodes what we encode into the term we meant.
    #[test]
    fn otp_reads_it_back() {
        let t = Term::Tuple(vec![
            Term::atom("load"),
            Term::List(vec![Term::Tuple(vec![
                Term::bin(*b"a.beam"),
                Term::Int(3),
                Term::bin(vec![0u8, 1, 2]),
            ])]),
            Term::Int(1 << 40),
            Term::Int(-70_000),
            Term::atom("ünï"),
        ]);
        let hex: String = encode(&t).iter().map(|b| format!("{b},")).collect();
        let eval = format!(
            "T = binary_to_term(list_to_binary([{}])), \
             io:format(\"~w ~w\", [setelement(5, T, a), atom_to_binary(element(5, T))]), halt().",
            hex.trim_end_matches(',')
        );
        let out = Command::new("erl")
            .args(["-noshell", "-eval", &eval])
            .output()
            .expect("erl");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "{load,[{<<97,46,98,101,97,109>>,3,<<0,1,2>>}],1099511627776,-70000,a} <<195,188,110,195,175>>"
        );
    }
}
