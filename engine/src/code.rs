//! Walks the instruction stream of a BEAM `Code` chunk, to drop the `line` instructions when the
//! `Line` table is stripped: without the table they only cost flash (about 7% of the runtime's code)
//! and a dispatch each. Pure; an instruction it does not know is an error, and the caller then keeps
//! the chunk as it was, so a newer compiler can never make a bundle wrong, only less small.
//!
//! Format (OTP's `beam_asm`/`beam_disasm`): a header (`u32` header size, then instruction set,
//! highest opcode, label count, function count), then per instruction an opcode byte followed by as
//! many operands as the opcode's arity, each in the compact term encoding. Jumps name labels, never
//! byte offsets, so removing an instruction moves nothing that anything else points at.

use std::fmt;

/// The `line` instruction (genop.tab: `153: line/1`).
const OP_LINE: u8 = 153;
/// `int_code_end/0`: the last instruction; anything after it is padding.
const OP_INT_CODE_END: u8 = 3;

/// Operand counts of opcodes 1..=183, from OTP's genop.tab (OTP 25 defines 1..=180; 181
/// `update_record/5` and 182 `bs_match/3` came in OTP 26, 183 `executable_line/2` in OTP 27).
/// Index 0 is unused; a `u8::MAX` marks an opcode number genop.tab leaves free.
const ARITY: [u8; 184] = [
    u8::MAX, // 0: no such opcode
    1,
    3,
    0,
    2,
    3,
    2,
    2,
    3,
    2,
    4,
    5,
    2,
    3,
    2,
    3,
    2,
    1,
    1,
    0,
    0, // 1..=20
    0,
    0,
    2,
    1,
    1,
    2,
    4,
    4,
    4,
    4,
    4,
    4,
    4,
    4,
    4,
    4,
    4,
    3,
    3,
    3, // 21..=40
    3,
    3,
    3,
    3,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    3,
    3,
    3, // 41..=60
    1,
    2,
    1,
    2,
    3,
    3,
    3,
    3,
    3,
    2,
    1,
    1,
    0,
    1,
    1,
    3,
    2,
    2,
    2,
    5, // 61..=80
    5,
    5,
    4,
    2,
    1,
    1,
    2,
    2,
    5,
    5,
    5,
    2,
    1,
    0,
    1,
    2,
    2,
    4,
    4,
    4, // 81..=100
    4,
    3,
    1,
    2,
    1,
    1,
    1,
    2,
    6,
    3,
    5,
    1,
    2,
    2,
    3,
    5,
    7,
    7,
    7,
    5, // 101..=120
    3,
    2,
    2,
    5,
    6,
    2,
    2,
    2,
    2,
    1,
    3,
    4,
    0,
    8,
    6,
    2,
    6,
    5,
    4,
    5, // 121..=140
    4,
    5,
    4,
    3,
    3,
    3,
    3,
    3,
    0,
    1,
    1,
    7,
    1,
    5,
    5,
    2,
    3,
    3,
    4,
    0, // 141..=160
    0,
    2,
    2,
    2,
    3,
    4,
    3,
    2,
    2,
    4,
    3,
    1,
    2,
    1,
    1,
    1,
    6,
    3,
    0,
    1, // 161..=180
    5,
    3,
    2, // 181..=183
];

/// Compact term tags (the low three bits of an operand's first byte).
const TAG_EXTENDED: u8 = 7;

/// Why a `Code` chunk could not be walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    /// The chunk ends inside its header, an instruction or an operand.
    Truncated { offset: usize },
    /// An opcode this walker has no arity for (a newer compiler, or garbage).
    UnknownOpcode { offset: usize, opcode: u8 },
    /// An operand encoding that no compiler produces.
    BadOperand { offset: usize, reason: &'static str },
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::Truncated { offset } => write!(f, "code ends early at byte {offset}"),
            CodeError::UnknownOpcode { offset, opcode } => {
                write!(f, "unknown opcode {opcode} at byte {offset}")
            }
            CodeError::BadOperand { offset, reason } => {
                write!(f, "bad operand at byte {offset}: {reason}")
            }
        }
    }
}

impl std::error::Error for CodeError {}

/// The `Code` chunk without its `line` instructions, and how many were removed.
pub fn strip_line_instructions(code: &[u8]) -> Result<(Vec<u8>, usize), CodeError> {
    let header_size = read_u32(code, 0).ok_or(CodeError::Truncated { offset: 0 })? as usize;
    let start = 4usize
        .checked_add(header_size)
        .filter(|&s| s <= code.len())
        .ok_or(CodeError::Truncated { offset: 4 })?;
    let mut out = Vec::with_capacity(code.len());
    out.extend_from_slice(&code[..start]);
    let mut cursor = Cursor {
        bytes: code,
        pos: start,
    };
    let mut removed = 0;
    while cursor.pos < code.len() {
        let at = cursor.pos;
        let opcode = cursor.byte()?;
        let arity = *ARITY
            .get(opcode as usize)
            .filter(|&&a| a != u8::MAX)
            .ok_or(CodeError::UnknownOpcode { offset: at, opcode })?;
        for _ in 0..arity {
            cursor.operand()?;
        }
        if opcode == OP_LINE {
            removed += 1;
        } else {
            out.extend_from_slice(&code[at..cursor.pos]);
        }
        if opcode == OP_INT_CODE_END {
            out.extend_from_slice(&code[cursor.pos..]);
            return Ok((out, removed));
        }
    }
    Err(CodeError::Truncated { offset: code.len() })
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Result<u8, CodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or(CodeError::Truncated { offset: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    fn skip(&mut self, n: usize) -> Result<(), CodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(CodeError::Truncated { offset: self.pos })?;
        self.pos = end;
        Ok(())
    }

    /// Skips one operand of any tag.
    fn operand(&mut self) -> Result<(), CodeError> {
        let at = self.pos;
        let first = self.byte()?;
        if first & 7 != TAG_EXTENDED {
            return self.value_rest(first);
        }
        if first & 0x08 != 0 {
            return Err(CodeError::BadOperand {
                offset: at,
                reason: "extended tag with a multi-byte subtag",
            });
        }
        match first >> 4 {
            0 => self.skip(8), // float, 8 bytes (old compilers)
            1 => {
                // list: a count, then that many operands
                let n = self.unsigned()?;
                for _ in 0..n {
                    self.operand()?;
                }
                Ok(())
            }
            2 => self.operand(), // floating-point register
            3 => {
                // allocation list: a count, then (kind, amount) pairs
                let n = self.unsigned()?;
                for _ in 0..n.saturating_mul(2) {
                    self.unsigned()?;
                }
                Ok(())
            }
            4 => self.unsigned().map(|_| ()), // literal index
            5 => {
                // typed register: the register, then its type index
                self.operand()?;
                self.unsigned().map(|_| ())
            }
            _ => Err(CodeError::BadOperand {
                offset: at,
                reason: "unknown extended subtag",
            }),
        }
    }

    /// Skips the rest of a non-extended operand whose first byte was `first`.
    fn value_rest(&mut self, first: u8) -> Result<(), CodeError> {
        if first & 0x08 == 0 {
            Ok(()) // value in the high nibble
        } else if first & 0x10 == 0 {
            self.skip(1) // 11-bit value
        } else if first >> 5 < 7 {
            self.skip((first >> 5) as usize + 2)
        } else {
            let n = self.unsigned()?;
            let n = usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_add(9))
                .ok_or(CodeError::Truncated { offset: self.pos })?;
            self.skip(n)
        }
    }

    /// Reads a small non-negative value (a count, a kind, an index); any tag but extended.
    fn unsigned(&mut self) -> Result<u64, CodeError> {
        let at = self.pos;
        let first = self.byte()?;
        if first & 7 == TAG_EXTENDED {
            return Err(CodeError::BadOperand {
                offset: at,
                reason: "a count must not be an extended term",
            });
        }
        if first & 0x08 == 0 {
            return Ok((first >> 4) as u64);
        }
        if first & 0x10 == 0 {
            let low = self.byte()? as u64;
            return Ok((((first as u64) & 0xE0) << 3) | low);
        }
        let n = (first >> 5) as usize + 2;
        if n > 8 {
            return Err(CodeError::BadOperand {
                offset: at,
                reason: "a count longer than 8 bytes",
            });
        }
        let start = self.pos;
        self.skip(n)?;
        Ok(self.bytes[start..self.pos]
            .iter()
            .fold(0u64, |v, &b| (v << 8) | b as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Code chunk: the 16-byte header (instruction set 0, opcode max 180) and the given instructions.
    fn chunk(instructions: &[u8]) -> Vec<u8> {
        let mut c = Vec::new();
        for v in [16u32, 0, 180, 3, 1] {
            c.extend_from_slice(&v.to_be_bytes());
        }
        c.extend_from_slice(instructions);
        c
    }

    #[test]
    fn drops_line_instructions_and_keeps_everything_else() {
        // label 1; line 5 (u); func_info a1 a2 0; label 2; line 6; return; int_code_end; padding
        let code = chunk(&[
            1, 0x15, // label f1 (tag u, value 1)
            153, 0x50, // line u5
            2, 0x12, 0x22, 0x00, // func_info a1 a2 u0
            1, 0x25, // label 2
            153, 0x60, // line u6
            19,   // return
            3,    // int_code_end
            0, 0,
        ]);
        let (out, removed) = strip_line_instructions(&code).unwrap();
        assert_eq!(removed, 2);
        assert_eq!(
            out,
            chunk(&[1, 0x15, 2, 0x12, 0x22, 0x00, 1, 0x25, 19, 3, 0, 0])
        );
    }

    #[test]
    fn walks_every_operand_encoding() {
        // One instruction per operand encoding; `0x03` is x0 as a destination.
        let kept = [
            &[64, 0x17, 0x20, 0x13, 0x24, 0x33][..], // move {list of u2: x1, y2} x3 (z1)
            &[13, 0x10, 0x37, 0x10, 0x00, 0x30, 0x00][..], // allocate_heap u1 {alloc: u0 u3} u0 (z3)
            &[64, 0x57, 0x03, 0x20, 0x13][..],             // move {typed x0, type u2} x1 (z5)
            &[64, 0x47, 0x70, 0x03][..],                   // move {literal u7} x0 (z4)
            &[64, 0x27, 0x13, 0x03][..],                   // move {fr 1} x0 (z2)
            &[64, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 0x03][..], // move {float} x0 (z0, 8 bytes)
            &[64, 0x09, 0xFF, 0x03][..],                   // move i(11 bits) x0
            &[64, 0x19, 1, 2, 0x03][..],                   // move i(2 bytes) x0
            &[64, 0xF9, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x03][..], // move i(9 + u1 bytes) x0
        ]
        .concat();
        let mut with_lines = vec![153, 0x18, 1, 2]; // line u(2 bytes)
        with_lines.extend_from_slice(&kept);
        with_lines.extend_from_slice(&[153, 0x08, 0xFF, 3]); // line u(11-bit); int_code_end
        let (out, removed) = strip_line_instructions(&chunk(&with_lines)).unwrap();
        assert_eq!(removed, 2);
        assert_eq!(out, chunk(&[&kept[..], &[3]].concat()));
    }

    /// Every beam this machine's compiler made for the runtime walks to its end, loses its `line`
    /// instructions and nothing else (the instruction count drops by exactly the lines removed).
    #[test]
    fn walks_every_runtime_beam_the_local_compiler_made() {
        let all = crate::runtime_lib::device_modules()
            .iter()
            .chain(crate::runtime_lib::host_modules());
        let mut total_removed = 0;
        for (name, bytes) in all {
            let beam = crate::beam::parse(bytes).unwrap();
            let code = &beam.chunk(b"Code").unwrap().data;
            let (out, removed) =
                strip_line_instructions(code).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(removed > 0, "{name} has line instructions");
            assert!(out.len() < code.len(), "{name}");
            assert_eq!(
                strip_line_instructions(&out).unwrap(),
                (out.clone(), 0),
                "{name}"
            );
            total_removed += removed;
        }
        assert!(total_removed > 100);
    }

    #[test]
    fn unknown_opcodes_and_truncation_are_errors() {
        assert!(matches!(
            strip_line_instructions(&chunk(&[200, 3])),
            Err(CodeError::UnknownOpcode { opcode: 200, .. })
        ));
        assert!(matches!(
            strip_line_instructions(&chunk(&[153])),
            Err(CodeError::Truncated { .. })
        ));
        assert!(matches!(
            strip_line_instructions(&chunk(&[19])),
            Err(CodeError::Truncated { .. })
        ));
        assert!(strip_line_instructions(&[0, 0]).is_err());
        assert!(strip_line_instructions(&[0, 0, 0, 99]).is_err());
    }
}
