//! Code lenses that close the loop between the route table and the handlers. At the `-module` line of
//! a module some route hands requests to (directly, or as the `handler => Mod` of a generic handler):
//! one lens per such route, e.g. `route: GET /api/hello`, which shows the route. Above each route of
//! the route table: `open handler`, and `open in browser` for a route a browser can GET. Pure: routes
//! in, (title, route) pairs out; the server attaches the commands (`ext::commands`).

use avmd_engine::routes::Route;

/// The lens titles for `module`, in route order, with the index of the route each is about.
pub fn titles(module: &str, routes: &[Route]) -> Vec<(String, usize)> {
    routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.handler == module || r.target.as_deref() == Some(module))
        .map(|(i, r)| {
            let methods = if r.methods.is_empty() {
                "any method".to_string()
            } else {
                r.methods.join("|")
            };
            (format!("route: {methods} {}", r.path), i)
        })
        .collect()
}

/// The module a route's requests reach: the `handler => Mod` of a generic handler, else the handler.
pub fn handler_module(r: &Route) -> &str {
    r.target.as_deref().unwrap_or(&r.handler)
}

/// The path a browser can open for `r`: a GET route without `:param` segments; a trailing `*` opens
/// the prefix. `None` for routes a browser cannot try as they are (POST only, parameters).
pub fn browser_path(r: &Route) -> Option<String> {
    let gets = r.methods.is_empty() || r.methods.iter().any(|m| m == "GET");
    if !gets || r.path.contains("/:") || r.handler == "httpd_ws_handler" {
        return None;
    }
    let path = r.path.strip_suffix('*').unwrap_or(&r.path);
    Some(if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use avmd_engine::routes::scan;

    #[test]
    fn a_module_sees_the_routes_that_reach_it() {
        let routes = scan(
            "[{<<\"/a\">>, httpd_api_handler, #{handler => api, methods => [<<\"GET\">>, <<\"PUT\">>]}},\n \
             {<<\"/b\">>, api, #{}},\n {<<\"/c\">>, other, #{}}]",
        );
        let t: Vec<String> = titles("api", &routes).into_iter().map(|(t, _)| t).collect();
        assert_eq!(t, ["route: GET|PUT /a", "route: any method /b"]);
        assert_eq!(
            titles("other", &routes),
            [("route: any method /c".to_string(), 2)]
        );
        assert!(titles("nobody", &routes).is_empty());
        assert_eq!(handler_module(&routes[0]), "api");
    }

    #[test]
    fn only_routes_a_browser_can_get_are_opened() {
        let routes = scan(
            "[{<<\"/\">>, h, #{}}, {<<\"/api/items/:id\">>, h, #{}}, {<<\"/up\">>, h, #{methods => [<<\"POST\">>]}},\n \
             {<<\"/ws\">>, httpd_ws_handler, #{handler => w}}, {<<\"/static/*\">>, httpd_static, #{}}, {<<\"/*\">>, h, #{}}]",
        );
        let paths: Vec<Option<String>> = routes.iter().map(browser_path).collect();
        assert_eq!(
            paths,
            [
                Some("/".into()),
                None,
                None,
                None,
                Some("/static/".into()),
                Some("/".into())
            ]
        );
    }
}
