//! Code lenses that close the loop from a handler module back to the route map: at the `-module` line
//! of a module some route hands requests to (directly, or as the `handler => Mod` of a generic handler),
//! one lens per such route, e.g. `route: GET /api/hello`. Pure: routes in, titles out.

use avmd_engine::routes::Route;

/// The lens titles for `module`, in route order.
pub fn titles(module: &str, routes: &[Route]) -> Vec<String> {
    routes
        .iter()
        .filter(|r| r.handler == module || r.target.as_deref() == Some(module))
        .map(|r| {
            let methods = if r.methods.is_empty() {
                "any method".to_string()
            } else {
                r.methods.join("|")
            };
            format!("route: {methods} {}", r.path)
        })
        .collect()
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
        assert_eq!(
            titles("api", &routes),
            ["route: GET|PUT /a", "route: any method /b"]
        );
        assert_eq!(titles("other", &routes), ["route: any method /c"]);
        assert!(titles("nobody", &routes).is_empty());
    }
}
