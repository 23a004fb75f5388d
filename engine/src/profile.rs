//! The device profile a project targets (`profile = "esp32"` in `avmd.toml`): the one type behind the
//! AtomVM platform the compatibility check holds code to, the runtime's `httpd_profile` (limits), and
//! the heap limit `avmd dev` puts on host OTP for the device's RAM. Pure.

use std::fmt;
use std::str::FromStr;

use crate::compat::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    #[default]
    Esp32,
    Esp32c3,
    Esp32s3,
    Rp2,
    PicoW,
    Stm32,
    GenericUnix,
}

impl Profile {
    /// Every profile, in the order documentation lists them.
    pub const ALL: [Profile; 7] = [
        Profile::Esp32,
        Profile::Esp32c3,
        Profile::Esp32s3,
        Profile::Rp2,
        Profile::PicoW,
        Profile::Stm32,
        Profile::GenericUnix,
    ];

    /// The name in `avmd.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Esp32 => "esp32",
            Profile::Esp32c3 => "esp32c3",
            Profile::Esp32s3 => "esp32s3",
            Profile::Rp2 => "rp2",
            Profile::PicoW => "pico_w",
            Profile::Stm32 => "stm32",
            Profile::GenericUnix => "generic_unix",
        }
    }

    /// The AtomVM platform whose API the code is held to.
    pub fn platform(self) -> Platform {
        match self {
            Profile::Esp32 | Profile::Esp32c3 | Profile::Esp32s3 => Platform::Esp32,
            Profile::Rp2 | Profile::PicoW => Platform::Rp2,
            Profile::Stm32 => Platform::Stm32,
            Profile::GenericUnix => Platform::GenericUnix,
        }
    }

    /// The `httpd_profile` (runtime/src/httpd_profile.erl) whose limits the server runs with. The runtime
    /// has profiles for the boards it was tuned on; other boards get the closest one (RP2 and STM32 →
    /// `pico_w`, the smallest; a generic Unix build → `host`).
    pub fn httpd_profile(self) -> &'static str {
        match self {
            Profile::Esp32 => "esp32",
            Profile::Esp32c3 => "esp32c3",
            Profile::Esp32s3 => "esp32s3",
            Profile::Rp2 | Profile::PicoW | Profile::Stm32 => "pico_w",
            Profile::GenericUnix => "host",
        }
    }

    /// The per-process heap limit in words (OTP `max_heap_size`) standing for the RAM a device leaves an
    /// app. AtomVM terms take about as many words as on OTP, and a device word is 4 bytes: the limit is
    /// the usable RAM / 4. ESP32: ~320 KB of RAM, ~256 KB usable → 65 536 words; ESP32-S3 boards usually
    /// carry PSRAM → twice that; RP2040 (264 KB, Wi-Fi stack resident) → 32 768; STM32 boards vary, the
    /// common 128 KB parts → 16 384. `None` (no limit) for a generic Unix build.
    pub fn max_heap_words(self) -> Option<u64> {
        match self {
            Profile::Esp32 | Profile::Esp32c3 => Some(65_536),
            Profile::Esp32s3 => Some(131_072),
            Profile::Rp2 | Profile::PicoW => Some(32_768),
            Profile::Stm32 => Some(16_384),
            Profile::GenericUnix => None,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A profile name that is not one of [`Profile::ALL`]; its message lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProfile(pub String);

impl fmt::Display for UnknownProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Profile::ALL.iter().map(|p| p.as_str()).collect();
        write!(f, "profile {:?} is not one of {}", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownProfile {}

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Profile, UnknownProfile> {
        Profile::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProfile(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_every_profile_has_its_platform_and_limits() {
        for p in Profile::ALL {
            assert_eq!(p.as_str().parse::<Profile>(), Ok(p));
            assert!(["esp32", "esp32c3", "esp32s3", "pico_w", "host"].contains(&p.httpd_profile()));
            assert_eq!(p.max_heap_words().is_none(), p == Profile::GenericUnix);
        }
        assert_eq!(Profile::Esp32s3.platform(), Platform::Esp32);
        assert_eq!(Profile::PicoW.platform(), Platform::Rp2);
        let err = "esp8266".parse::<Profile>().unwrap_err().to_string();
        assert!(
            err.contains("esp8266") && err.contains("generic_unix"),
            "{err}"
        );
    }
}
