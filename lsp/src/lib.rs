//! `avmd lsp`: a language server for AtomVM handler projects. It is a thin shell over the engine:
//! on open and save it builds the project incrementally and publishes compiler diagnostics, AtomVM
//! compatibility misses, route conflicts and handler contract misses. It answers
//! `textDocument/documentSymbol` with a module's routes, `textDocument/definition` for handler
//! modules and calls, `textDocument/codeLens` with the routes that reach a handler module, and the
//! custom request `avmd/routes` with the project's route map (docs/lsp.md).

pub mod actions;
pub mod collect;
pub mod commands;
pub mod completion;
pub mod definition;
pub mod documents;
pub mod ext;
pub mod hover;
pub mod lens;
pub mod server;
pub mod symbols;
pub mod to_proto;
pub mod transport;

use tower_lsp_server::{LspService, Server};

/// Serves LSP over stdin/stdout until the client sends `exit` (or closes stdin).
pub fn serve_stdio() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (service, socket) = LspService::build(server::Backend::new)
            .custom_method(server::ROUTES_METHOD, server::Backend::routes)
            .finish();
        // Malformed frames are dropped before the server sees them (transport.rs): one bad frame
        // must not end the session.
        let (to_server, from_filter) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            if let Err(e) = transport::filter(tokio::io::stdin(), to_server).await {
                eprintln!("avmd lsp: reading stdin: {e}");
            }
        });
        Server::new(from_filter, tokio::io::stdout(), socket)
            .serve(service)
            .await;
    });
    // tokio's stdin reader is a blocking thread that may sit in read(2) after `exit`; don't wait on it.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(())
}
