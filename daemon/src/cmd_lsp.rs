//! `avmd lsp`: runs the language server (the `avmd-lsp` crate) over stdin/stdout, the way editors
//! start language servers. Logs go to stderr; stdout carries only LSP messages.

#[derive(clap::Args)]
pub struct Args {
    /// Accepted for editors that pass it (VS Code's default transport); stdio is the only transport.
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    avmd_lsp::serve_stdio()?;
    Ok(0)
}
