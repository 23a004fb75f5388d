//! First install of a device over serial (`avmd provision`, docs/devices.md): the partition table with
//! two app slots, the NVS image (device name, Wi-Fi credentials, OTA public key) and the app bundle,
//! with the esptool command that flashes them. The formats are pure (`nvs`, `partitions`); `plan`
//! only decides what goes where.

pub mod nvs;
pub mod partitions;

use std::collections::BTreeMap;

use partitions::{Partition, TABLE_OFFSET};

/// What a device is provisioned with.
pub struct Identity<'a> {
    pub name: &'a str,
    pub wifi: Option<(&'a str, &'a str)>,
    pub ota_key: Option<&'a [u8]>,
}

/// The NVS entries AtomVM and the runtime read: `avmd/device_id` (`device_flash:device_id/0`),
/// `avmd/ota_pubkey` (`ota_trust:public_key/1`), `avmd/wifi_ssid` + `avmd/wifi_psk` (the network
/// bootstrap), and `atomvm/boot_path`, so the first boot runs `main.avm`.
pub fn nvs_entries(id: &Identity) -> BTreeMap<String, BTreeMap<String, Vec<u8>>> {
    let mut avmd = BTreeMap::new();
    avmd.insert("device_id".to_string(), id.name.as_bytes().to_vec());
    if let Some(key) = id.ota_key {
        avmd.insert("ota_pubkey".to_string(), key.to_vec());
    }
    if let Some((ssid, psk)) = id.wifi {
        avmd.insert("wifi_ssid".to_string(), ssid.as_bytes().to_vec());
        avmd.insert("wifi_psk".to_string(), psk.as_bytes().to_vec());
    }
    let mut atomvm = BTreeMap::new();
    atomvm.insert(
        "boot_path".to_string(),
        b"/dev/partition/by-name/main.avm".to_vec(),
    );
    let mut all = BTreeMap::new();
    all.insert("avmd".to_string(), avmd);
    all.insert("atomvm".to_string(), atomvm);
    all
}

/// One file to flash at an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub offset: u32,
    pub file: String,
}

/// Where each image goes on a flash with `layout`; the AtomVM firmware image (bootloader, VM and
/// `boot.avm` in one, as AtomVM's releases ship it) at `firmware_offset` when given.
pub fn writes(
    layout: &[Partition],
    app_file: &str,
    firmware: Option<(&str, u32)>,
) -> anyhow::Result<Vec<Write>> {
    let at = |name: &str| {
        partitions::find(layout, name)
            .map(|p| p.offset)
            .ok_or_else(|| anyhow::anyhow!("the partition table has no {name}"))
    };
    let mut out = Vec::new();
    if let Some((file, offset)) = firmware {
        out.push(Write {
            offset,
            file: file.to_string(),
        });
    }
    out.push(Write {
        offset: TABLE_OFFSET,
        file: "partitions.bin".into(),
    });
    out.push(Write {
        offset: at("nvs")?,
        file: "nvs.bin".into(),
    });
    out.push(Write {
        offset: at("main.avm")?,
        file: app_file.to_string(),
    });
    Ok(out)
}

/// Where a chip's firmware image starts (its second-stage bootloader's offset).
pub fn firmware_offset(chip: &str) -> u32 {
    match chip {
        "esp32" | "esp32s2" => 0x1000,
        _ => 0x0,
    }
}

/// esptool's arguments for the writes (esptool 4 and 5 both take `write_flash`).
pub fn esptool_args(chip: &str, port: &str, baud: u32, writes: &[Write]) -> Vec<String> {
    let mut args = vec![
        "--chip".to_string(),
        chip.to_string(),
        "--port".to_string(),
        port.to_string(),
        "--baud".to_string(),
        baud.to_string(),
        "write_flash".to_string(),
    ];
    for w in writes {
        args.push(format!("{:#x}", w.offset));
        args.push(w.file.clone());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_images_go_where_the_table_says() {
        let layout = partitions::two_slot_4mb();
        let w = writes(
            &layout,
            "app.avm",
            Some(("atomvm.img", firmware_offset("esp32"))),
        )
        .unwrap();
        let at: Vec<(u32, &str)> = w.iter().map(|w| (w.offset, w.file.as_str())).collect();
        assert_eq!(
            at,
            [
                (0x1000, "atomvm.img"),
                (0x8000, "partitions.bin"),
                (0x9000, "nvs.bin"),
                (0x25_0000, "app.avm")
            ]
        );
        let args = esptool_args("esp32", "/dev/ttyUSB0", 921600, &w);
        assert_eq!(
            args.join(" "),
            "--chip esp32 --port /dev/ttyUSB0 --baud 921600 write_flash 0x1000 atomvm.img 0x8000 partitions.bin 0x9000 nvs.bin 0x250000 app.avm"
        );
    }

    #[test]
    fn wifi_and_key_are_written_only_when_given() {
        let e = nvs_entries(&Identity {
            name: "kitchen",
            wifi: None,
            ota_key: None,
        });
        assert_eq!(e["avmd"].keys().collect::<Vec<_>>(), ["device_id"]);
        assert_eq!(e["atomvm"]["boot_path"], b"/dev/partition/by-name/main.avm");
        let e = nvs_entries(&Identity {
            name: "kitchen",
            wifi: Some(("home", "secret")),
            ota_key: Some(&[4; 65]),
        });
        assert_eq!(
            e["avmd"].keys().collect::<Vec<_>>(),
            ["device_id", "ota_pubkey", "wifi_psk", "wifi_ssid"]
        );
    }
}
