"""`avmd provision --dry-run`: the files a first install flashes and the esptool command. The NVS image
is checked byte for byte against ESP-IDF's own generator (`esp-idf-nvs-partition-gen` from PyPI) fed
the same entries, including a key stored from a file; the partition table is read back entry by entry
and its MD5 checked. Nothing here touches a serial port or the network."""

import hashlib
import pathlib
import shutil
import struct
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
import vm_support  # noqa: E402

ROOT = HERE.parents[2]


def project(tmp_path):
    p = tmp_path / "hello_web"
    shutil.copytree(ROOT / "examples" / "hello_web", p, ignore=shutil.ignore_patterns("_build", "ota.pub"))
    return p


def avmd(env, *args):
    r = subprocess.run([str(vm_support.avmd_binary()), *map(str, args)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_provision_dry_run_writes_what_esp_idf_would(tmp_path):
    import os
    env = dict(os.environ, AVMD_KEY_DIR=str(tmp_path / "keys"), AVMD_HOME=str(tmp_path / "home"))
    p = project(tmp_path)
    avmd(env, "key", "new", p)
    firmware = tmp_path / "AtomVM-esp32.img"
    firmware.write_bytes(b"\xe9" + b"\0" * 1023)
    out = avmd(env, "provision", p, "--name", "kitchen", "--ssid", "home net", "--psk", "s3cret",
               "--port", "/dev/ttyUSB7", "--atomvm-image", firmware, "--dry-run")
    d = p / "_build" / "avmd" / "provision" / "kitchen"
    assert ("esptool --chip esp32 --port /dev/ttyUSB7 --baud 921600 write_flash 0x1000 atomvm.img "
            "0x8000 partitions.bin 0x9000 nvs.bin 0x250000 hello_web.avm") in out, out
    assert (d / "hello_web.avm").read_bytes() == (p / "_build" / "avmd" / "hello_web.avm").read_bytes()
    assert (d / "atomvm.img").read_bytes() == firmware.read_bytes()

    # the same entries through ESP-IDF's generator
    key_hex = [l for l in (p / "ota.pub").read_text().splitlines() if l and not l.startswith("#")][0]
    (tmp_path / "key.bin").write_bytes(bytes.fromhex(key_hex))
    (tmp_path / "nvs.csv").write_text(
        "key,type,encoding,value\n"
        "atomvm,namespace,,\n"
        "boot_path,data,binary,/dev/partition/by-name/main.avm\n"
        "avmd,namespace,,\n"
        "device_id,data,binary,kitchen\n"
        f"ota_pubkey,file,binary,{tmp_path / 'key.bin'}\n"
        "wifi_psk,data,binary,s3cret\n"
        "wifi_ssid,data,binary,home net\n")
    subprocess.run([sys.executable, "-m", "esp_idf_nvs_partition_gen", "generate", tmp_path / "nvs.csv",
                    tmp_path / "ref.bin", "0x6000"], check=True, capture_output=True)
    assert (d / "nvs.bin").read_bytes() == (tmp_path / "ref.bin").read_bytes()

    # the partition table, read back
    t = (d / "partitions.bin").read_bytes()
    assert len(t) == 0xC00
    entries, i = [], 0
    while t[i:i + 2] == b"\xaa\x50":
        typ, sub, off, size = struct.unpack("<BBII", t[i + 2:i + 12])
        entries.append((t[i + 12:i + 28].rstrip(b"\0").decode(), typ, sub, off, size))
        i += 32
    assert t[i:i + 2] == b"\xeb\xeb" and t[i + 16:i + 32] == hashlib.md5(t[:i]).digest()
    assert [(n, o) for n, _, _, o, _ in entries] == [
        ("nvs", 0x9000), ("phy_init", 0xF000), ("factory", 0x10000), ("boot.avm", 0x1D0000),
        ("main.avm", 0x250000), ("app2.avm", 0x310000)]
    assert [e for e in entries if e[0] == "nvs"][0][1:3] == (1, 2)
