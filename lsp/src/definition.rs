//! Go to definition for the names a route map is made of: a handler module atom (`hello_web_api` in a
//! route tuple) goes to that module's `-module` line, `mod:fun` to `fun`'s first clause in `mod`, and a
//! local `fun(` to its first clause in the same file. This module only reads what the cursor is on
//! (LSP's UTF-16 columns); where things are defined is the engine's (`avmd_engine::sites`). Pure.

/// What the cursor is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A module atom (a handler in a route tuple, or the `mod` of `mod:fun`).
    Module(String),
    /// `mod:fun`, the cursor on `fun`.
    Remote(String, String),
    /// `fun(` with no module: a function of the current file.
    Local(String),
}

fn is_atom_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '@'
}

/// The char index in `line` of UTF-16 offset `utf16` (LSP positions count UTF-16 units).
fn char_index(line: &str, utf16: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in line.chars().enumerate() {
        if units >= utf16 {
            return i;
        }
        units += c.len_utf16() as u32;
    }
    line.chars().count()
}

/// An unquoted atom ending right before char index `end` (`mod` in `mod:fun`).
fn atom_before(chars: &[char], end: usize) -> Option<String> {
    let start = (0..end)
        .rev()
        .take_while(|&i| is_atom_char(chars[i]))
        .last()?;
    chars[start]
        .is_ascii_lowercase()
        .then(|| chars[start..end].iter().collect())
}

/// An unquoted atom starting at char index `start`.
fn atom_after(chars: &[char], start: usize) -> Option<String> {
    let end = (start..chars.len())
        .take_while(|&i| is_atom_char(chars[i]))
        .last()?
        + 1;
    chars[start]
        .is_ascii_lowercase()
        .then(|| chars[start..end].iter().collect())
}

/// The name under the cursor at UTF-16 offset `character` of `line`, and what it refers to.
pub fn target_at(line: &str, character: u32) -> Option<Target> {
    let chars: Vec<char> = line.chars().collect();
    let at = char_index(line, character);
    // The cursor may sit just past the atom's last character.
    let probe = if at < chars.len() && is_atom_char(chars[at]) {
        at
    } else if at > 0 && is_atom_char(chars[at - 1]) {
        at - 1
    } else {
        return None;
    };
    let start = (0..=probe)
        .rev()
        .take_while(|&i| is_atom_char(chars[i]))
        .last()?;
    let word = atom_after(&chars, start)?;
    let end = start + word.chars().count();
    if start >= 2 && chars[start - 1] == ':' && chars[start - 2] != ':' {
        if let Some(m) = atom_before(&chars, start - 1) {
            return Some(Target::Remote(m, word));
        }
    }
    let next = chars.get(end).copied();
    if next == Some(':') && chars.get(end + 1).is_some_and(|c| c.is_ascii_lowercase()) {
        return Some(Target::Module(word));
    }
    if next == Some('(') {
        return Some(Target::Local(word));
    }
    Some(Target::Module(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str =
        "        {<<\"/api/hello\">>, httpd_api_handler, #{handler => hello_web_api}},";

    #[test]
    fn a_handler_atom_in_a_route_is_a_module() {
        let col = ROUTE.find("hello_web_api").unwrap() as u32;
        for c in [col, col + 5, col + 13] {
            assert_eq!(
                target_at(ROUTE, c),
                Some(Target::Module("hello_web_api".into())),
                "at {c}"
            );
        }
        let col = ROUTE.find("httpd_api_handler").unwrap() as u32;
        assert_eq!(
            target_at(ROUTE, col + 2),
            Some(Target::Module("httpd_api_handler".into()))
        );
    }

    #[test]
    fn remote_and_local_calls() {
        let line = "    {ok, S} = httpd_server:start(config()),";
        let on_fun = line.find("start").unwrap() as u32;
        assert_eq!(
            target_at(line, on_fun + 1),
            Some(Target::Remote("httpd_server".into(), "start".into()))
        );
        let on_mod = line.find("httpd_server").unwrap() as u32;
        assert_eq!(
            target_at(line, on_mod),
            Some(Target::Module("httpd_server".into()))
        );
        let on_local = line.find("config").unwrap() as u32;
        assert_eq!(
            target_at(line, on_local),
            Some(Target::Local("config".into()))
        );
    }

    #[test]
    fn variables_strings_and_blanks_are_nothing() {
        let line = "    {ok, S} = f(Var),   ";
        assert_eq!(target_at(line, line.find("Var").unwrap() as u32), None);
        assert_eq!(target_at(line, 1), None);
        assert_eq!(target_at("", 0), None);
        assert_eq!(target_at("x", 99), Some(Target::Module("x".into())));
    }
}
