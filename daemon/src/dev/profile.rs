//! How a project's device profile (`avmd_engine::profile::Profile`: its runtime profile, heap limit
//! and platform) reaches host OTP in `avmd dev`: the harness's `httpd_overrides` term. Pure.

use avmd_engine::profile::Profile;

/// The Erlang term text for `application:set_env(avmd, httpd_overrides, _)`: the device profile and
/// the live-reload middleware in front of the app's own. `dashboard_port` is where the script is served.
pub fn httpd_overrides(profile: Profile, dashboard_port: u16) -> String {
    format!(
        "#{{profile => {}, middleware_prepend => [{{avmd_dev_reload, #{{script_url => \
         <<\"http://127.0.0.1:{dashboard_port}/livereload.js\">>}}}}]}}",
        profile.httpd_profile()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_an_erlang_map_with_the_script_url() {
        assert_eq!(
            httpd_overrides(Profile::Rp2, 8081),
            "#{profile => pico_w, middleware_prepend => [{avmd_dev_reload, \
             #{script_url => <<\"http://127.0.0.1:8081/livereload.js\">>}}]}"
        );
    }
}
