//! How a project's device profile turns into limits on host OTP in `avmd dev`: the `httpd_server`
//! profile the app is forced onto (its connection cap and buffer limits, through the harness's
//! `httpd_overrides`), the per-process heap limit standing for device RAM, and the AtomVM platform
//! whose missing functions fail with `undef`. Pure.

use avmd_engine::compat::Platform;

/// The `httpd_profile` (runtime/src/httpd_profile.erl) matching a project profile. The runtime has
/// profiles for the boards it was tuned on; other boards get the closest one (RP2 → `pico_w`, STM32
/// → `pico_w`, the smallest; a generic Unix build → `host`).
pub fn httpd_profile(project_profile: &str) -> &'static str {
    match project_profile {
        "esp32" => "esp32",
        "esp32c3" => "esp32c3",
        "esp32s3" => "esp32s3",
        "pico_w" | "rp2" | "stm32" => "pico_w",
        _ => "host",
    }
}

/// The per-process heap limit in words (OTP `max_heap_size`) standing for the RAM a device leaves an
/// app. AtomVM terms take about as many words as on OTP, and a device word is 4 bytes: the limit is
/// the usable RAM / 4. ESP32: ~320 KB of RAM, ~256 KB usable → 65 536 words; ESP32-S3 boards usually
/// carry PSRAM → twice that; RP2040 (264 KB, Wi-Fi stack resident) → 32 768; STM32 boards vary, the
/// common 128 KB parts → 16 384. `None` (no limit) for host-like profiles.
pub fn max_heap_words(project_profile: &str) -> Option<u64> {
    match project_profile {
        "esp32" | "esp32c3" => Some(65_536),
        "esp32s3" => Some(131_072),
        "pico_w" | "rp2" => Some(32_768),
        "stm32" => Some(16_384),
        _ => None,
    }
}

/// The AtomVM platform whose API the dev bundle is held to.
pub fn platform(project_profile: &str) -> Option<Platform> {
    project_profile.parse().ok()
}

/// The Erlang term text for `application:set_env(avmd, httpd_overrides, _)`: the device profile and
/// the live-reload middleware in front of the app's own. `dashboard_port` is where the script is served.
pub fn httpd_overrides(project_profile: &str, dashboard_port: u16) -> String {
    format!(
        "#{{profile => {}, middleware_prepend => [{{avmd_dev_reload, #{{script_url => \
         <<\"http://127.0.0.1:{dashboard_port}/livereload.js\">>}}}}]}}",
        httpd_profile(project_profile)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_profile_has_a_runtime_profile_and_platform() {
        for p in avmd_engine::project::PROFILES {
            let h = httpd_profile(p);
            assert!(
                ["esp32", "esp32c3", "esp32s3", "pico_w", "host"].contains(&h),
                "{p} → {h}"
            );
            assert!(platform(p).is_some(), "{p} has no platform");
        }
        assert_eq!(httpd_profile("generic_unix"), "host");
        assert_eq!(max_heap_words("generic_unix"), None);
        assert_eq!(max_heap_words("esp32"), Some(65_536));
    }

    #[test]
    fn overrides_are_an_erlang_map_with_the_script_url() {
        assert_eq!(
            httpd_overrides("rp2", 8081),
            "#{profile => pico_w, middleware_prepend => [{avmd_dev_reload, \
             #{script_url => <<\"http://127.0.0.1:8081/livereload.js\">>}}]}"
        );
    }
}
