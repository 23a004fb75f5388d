//! `avmd provision [PATH] --port PORT --name NAME`: a device's first install over serial. Builds the
//! project, writes the partition table, the NVS image and the bundle into
//! `_build/avmd/provision/NAME/`, prints the exact esptool command, and runs it unless `--dry-run`.
//! Every later update goes over the network (`avmd push`).

use std::path::PathBuf;
use std::process::Command;

use crate::provision::{self, partitions, Identity};

#[derive(clap::Args)]
pub struct Args {
    /// The project to install.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The serial port the device is on.
    #[arg(long, default_value = "/dev/ttyUSB0")]
    pub port: String,
    /// The device's name (NVS `avmd/device_id`: how it announces itself and how `avmd push` names it).
    #[arg(long)]
    pub name: String,
    /// Wi-Fi network the device joins (stored in NVS, read by the network bootstrap).
    #[arg(long, requires = "psk")]
    pub ssid: Option<String>,
    /// Wi-Fi password.
    #[arg(long, requires = "ssid")]
    pub psk: Option<String>,
    /// The chip, as esptool names it.
    #[arg(long, default_value = "esp32")]
    pub chip: String,
    /// Serial speed.
    #[arg(long, default_value_t = 921600)]
    pub baud: u32,
    /// AtomVM's firmware image for the chip (from an AtomVM release); flashed first when given.
    #[arg(long)]
    pub atomvm_image: Option<PathBuf>,
    /// Write the files and print the command, flash nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let Some((project, bundle)) =
        crate::build_once::build(&args.path, "nothing to install on the device")?
    else {
        return Ok(1);
    };
    let layout = partitions::two_slot_4mb();
    let slot = partitions::find(&layout, "main.avm").expect("the layout has main.avm");
    if bundle.size > u64::from(slot.size) {
        eprintln!(
            "avmd: the bundle ({} bytes) does not fit the {}-byte main.avm slot of the two-slot table",
            bundle.size, slot.size
        );
        return Ok(1);
    }
    let key = avmd_engine::ota_pub::read(&project.root)
        .map_err(|(line, e)| anyhow::anyhow!("ota.pub line {line}: {e}"))?;
    if key.is_none() {
        eprintln!("avmd: note: no ota.pub in the project (`avmd key new`): the device will refuse pushes until it has a key");
    }
    let id = Identity {
        name: &args.name,
        wifi: args.ssid.as_deref().zip(args.psk.as_deref()),
        ota_key: key.as_ref().map(|k| &k.0[..]),
    };
    let nvs_part = partitions::find(&layout, "nvs").expect("the layout has nvs");
    let nvs = provision::nvs::image(&provision::nvs_entries(&id), nvs_part.size as usize)?;

    let dir = project.root.join("_build/avmd/provision").join(&args.name);
    std::fs::create_dir_all(&dir)?;
    let app_file = format!("{}.avm", project.app);
    std::fs::write(dir.join("partitions.bin"), partitions::table(&layout))?;
    std::fs::write(dir.join("nvs.bin"), &nvs)?;
    std::fs::write(dir.join(&app_file), &bundle.bytes)?;
    let firmware = match &args.atomvm_image {
        Some(img) => {
            std::fs::copy(img, dir.join("atomvm.img"))?;
            Some(("atomvm.img", provision::firmware_offset(&args.chip)))
        }
        None => None,
    };
    let writes = provision::writes(&layout, &app_file, firmware)?;
    let esptool_args = provision::esptool_args(&args.chip, &args.port, args.baud, &writes);

    println!("wrote {}:", dir.display());
    for w in &writes {
        println!("  {:#08x}  {}", w.offset, w.file);
    }
    if firmware.is_none() {
        println!("  (no --atomvm-image: the device must already run AtomVM with this partition table's layout)");
    }
    println!("command (in {}):", dir.display());
    println!("  esptool {}", esptool_args.join(" "));
    if args.dry_run {
        return Ok(0);
    }
    let status = Command::new("esptool")
        .args(&esptool_args)
        .current_dir(&dir)
        .status()
        .or_else(|_| {
            Command::new("esptool.py")
                .args(&esptool_args)
                .current_dir(&dir)
                .status()
        });
    match status {
        Ok(s) if s.success() => {
            println!(
                "{} installed; it announces itself once on the network (`avmd devices`)",
                args.name
            );
            Ok(0)
        }
        Ok(s) => {
            eprintln!("avmd: esptool failed ({s}); nothing else was changed");
            Ok(1)
        }
        Err(e) => {
            eprintln!("avmd: cannot run esptool ({e}): `pip install esptool`, or use --dry-run and flash by hand");
            Ok(1)
        }
    }
}
