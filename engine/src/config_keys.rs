//! The keys the runtime documents for `httpd_server:start/1`'s config and for a route's options map
//! (docs/handlers.md), with a line on each: what an editor completes. A test holds the server's list
//! to the runtime's own `?KEYS` (which refuses anything else). Pure data.

/// `httpd_server:start/1` config keys.
pub const SERVER: &[(&str, &str)] = &[
    ("port", "TCP port; 0 picks a free one"),
    ("address", "`any` or an IPv4 tuple to bind"),
    ("transport", "`gen_tcp` | `socket` (default: the VM's own)"),
    (
        "profile",
        "device profile whose limits are the defaults: esp32, esp32c3, esp32s3, pico_w, host",
    ),
    ("routes", "[{PathPattern, Handler, Opts}]"),
    ("middleware", "[{Module, Opts}] run around every handler"),
    (
        "on_full",
        "`reject` (503) or `evict_idle` when max_connections is reached",
    ),
    ("max_connections", "connections served at once"),
    ("backlog", "listen backlog"),
    ("max_request_line", "bytes of the request line (414 beyond)"),
    ("max_header_bytes", "bytes of all headers (431 beyond)"),
    ("max_headers", "number of headers (431 beyond)"),
    ("max_body", "bytes of a request body (413 beyond)"),
    ("header_timeout", "ms to receive a request head (408 after)"),
    (
        "idle_timeout",
        "ms a keep-alive connection waits for its next request",
    ),
    (
        "idle_report_after",
        "ms before an idle connection reports itself evictable",
    ),
    (
        "max_keepalive_requests",
        "requests per connection before it is closed",
    ),
    ("max_ws_connections", "WebSockets open at once"),
    (
        "max_ws_message",
        "bytes of one WebSocket message (1009 beyond)",
    ),
    ("ws_idle_timeout", "ms a WebSocket may stay silent"),
    (
        "ota",
        "#{app => App}: mounts /_avm/* for `avmd push` (docs/ota.md)",
    ),
    (
        "mdns",
        "#{}: announces the device as _avmd._tcp (docs/devices.md)",
    ),
];

/// Keys of a route's options map, by the handler they mean something to.
pub const ROUTE: &[(&str, &str)] = &[
    (
        "methods",
        "[<<\"GET\">>, ...]: other methods get 405 with Allow",
    ),
    (
        "handler",
        "the module httpd_api_handler or httpd_ws_handler hands requests to",
    ),
    (
        "app",
        "httpd_static: the application whose priv files are served",
    ),
    ("dir", "httpd_static: the directory under priv/"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_keys_are_the_runtimes_own() {
        let src = include_str!("../../runtime/src/httpd_server.erl");
        let start = src
            .find("-define(KEYS, #{")
            .expect("?KEYS in httpd_server.erl");
        let body = &src[start..start + src[start..].find("}).").unwrap()];
        let mut runtime: Vec<&str> = body
            .split(['{', ',', '\n'])
            .filter_map(|p| p.split("=>").next())
            .map(str::trim)
            .filter(|k| {
                !k.is_empty()
                    && !k.starts_with('-')
                    && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
            .collect();
        runtime.sort();
        let mut ours: Vec<&str> = SERVER.iter().map(|(k, _)| *k).collect();
        ours.sort();
        assert_eq!(ours, runtime);
    }
}
