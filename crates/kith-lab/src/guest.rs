//! A QEMU guest for what the host's kernel lacks (VLAN, bonding, dummy): Debian's kernel
//! (unpacked by `ci/guest-kernel.sh`), an initramfs made here of busybox-static, the
//! binaries given with the shared libraries they link (from `ldd`), the kernel modules
//! asked for with their dependencies (from modules.dep), the files given, and a busybox
//! shell script run as the guest's init. The guest has `nics` e1000 NICs (eth0, eth1,
//! ...) on one QEMU hub: no packet leaves QEMU. Its serial console is the evidence.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let console = kith_lab::guest::Guest::new(1, "cat /proc/net/vlan/config")
//!     .module("8021q")
//!     .run(std::time::Duration::from_secs(120))?;
//! # Ok(()) }
//! ```
//!
//! A missing piece (qemu, busybox-static, cpio, the unpacked kernel) is an error that
//! names the command that installs it.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Printed by the init script when the guest's script finished (before power-off).
pub const DONE: &str = "KITH-GUEST-DONE";

const INSTALL: &str = "run `sudo ci/install-deps.sh`";

/// Where `ci/guest-kernel.sh` unpacks the kernel, unless `KITH_GUEST_KERNEL_DIR` says.
pub fn kernel_dir() -> PathBuf {
    std::env::var_os("KITH_GUEST_KERNEL_DIR").map_or_else(
        || PathBuf::from("/var/cache/kith/guest-kernel"),
        PathBuf::from,
    )
}

/// A guest to boot.
pub struct Guest {
    nics: usize,
    binaries: Vec<(String, PathBuf)>,
    modules: Vec<String>,
    params: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>)>,
    script: String,
}

impl Guest {
    /// A guest with `nics` NICs that runs `script` (busybox sh) after boot.
    pub fn new(nics: usize, script: &str) -> Guest {
        Guest {
            nics,
            binaries: Vec::new(),
            modules: Vec::new(),
            params: Vec::new(),
            files: Vec::new(),
            script: script.to_string(),
        }
    }

    /// Puts the host binary `host` at `/bin/<name>` in the guest, with its libraries.
    pub fn binary(mut self, name: &str, host: impl Into<PathBuf>) -> Guest {
        self.binaries.push((name.to_string(), host.into()));
        self
    }

    /// Loads the kernel module `name` (and what it depends on) before the script.
    pub fn module(mut self, name: &str) -> Guest {
        self.modules.push(name.to_string());
        self
    }

    /// Loads the kernel module `name` with `params` (e.g. `max_bonds=0`).
    pub fn module_with(mut self, name: &str, params: &str) -> Guest {
        self.params.push((name.to_string(), params.to_string()));
        self.module(name)
    }

    /// Puts a file at `path` in the guest.
    pub fn file(mut self, path: &str, contents: &str) -> Guest {
        self.files
            .push((path.to_string(), contents.as_bytes().to_vec()));
        self
    }

    /// Boots the guest, runs the script and returns the serial console once the guest
    /// powered off. An error (with the console so far) when it did not finish within
    /// `timeout` or stopped before the script's end.
    pub fn run(&self, timeout: Duration) -> Result<String> {
        let kdir = kernel_dir();
        let ready = kdir.join("ready");
        let release = std::fs::read_to_string(&ready).with_context(|| {
            format!(
                "the guest kernel is missing ({} unreadable); {INSTALL}",
                ready.display()
            )
        })?;
        let work = tempfile::tempdir().context("temporary directory")?;
        let root = work.path().join("root");
        let initrd = work.path().join("initrd.cpio");
        self.build_root(&root, &kdir, release.trim())?;
        pack_cpio(&root, &initrd)?;
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args(["-accel", "tcg", "-cpu", "max", "-m", "1024", "-smp", "1"])
            .args(["-nographic", "-no-reboot", "-nic", "none"])
            .arg("-kernel")
            .arg(kdir.join("vmlinuz"))
            .arg("-initrd")
            .arg(&initrd)
            .args(["-append", "console=ttyS0 panic=-1 quiet loglevel=3"]);
        for i in 0..self.nics {
            cmd.args(["-netdev", &format!("hubport,id=n{i},hubid=0")]);
            cmd.args([
                "-device",
                &format!("e1000,netdev=n{i},mac=52:54:00:4b:00:{:02x}", 0x10 + i),
            ]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start qemu-system-x86_64; {INSTALL}"))?;
        let mut qemu = Qemu(child);
        let mut stdout = qemu.0.stdout.take().context("qemu's stdout")?;
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            String::from_utf8_lossy(&out).replace('\r', "")
        });
        let deadline = Instant::now() + timeout;
        let finished = loop {
            if qemu.0.try_wait()?.is_some() {
                break true;
            }
            if Instant::now() > deadline {
                let _ = qemu.0.kill();
                let _ = qemu.0.wait();
                break false;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut err = String::new();
        if let Some(mut e) = qemu.0.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let out = reader.join().unwrap_or_default();
        if !finished {
            bail!("the guest did not power off within {timeout:?}; console:\n{out}");
        }
        if !out.contains(DONE) {
            bail!(
                "the guest stopped before its script finished; qemu said: {err}\nconsole:\n{out}"
            );
        }
        Ok(out)
    }

    fn build_root(&self, root: &Path, kdir: &Path, release: &str) -> Result<()> {
        for d in ["bin", "proc", "sys", "dev", "run", "tmp", "mods"] {
            std::fs::create_dir_all(root.join(d))?;
        }
        let busybox = Path::new("/bin/busybox");
        std::fs::copy(busybox, root.join("bin/busybox"))
            .with_context(|| format!("busybox-static is missing; {INSTALL}"))?;
        for (name, host) in &self.binaries {
            std::fs::copy(host, root.join("bin").join(name))
                .with_context(|| format!("copy {}", host.display()))?;
            for lib in shared_libraries(host)? {
                let dest = root.join(lib.strip_prefix("/").unwrap_or(&lib));
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::copy(&lib, &dest).with_context(|| format!("copy {}", lib.display()))?;
            }
        }
        let mut insmods = String::new();
        let mdir = kdir.join("lib/modules").join(release);
        for (i, ko) in module_load_order(&mdir, &self.modules)?.iter().enumerate() {
            let file = ko
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            let dest = format!("mods/{i:02}-{file}");
            std::fs::copy(ko, root.join(&dest))
                .with_context(|| format!("copy {}", ko.display()))?;
            let stem = module_stem(&file);
            let params: Vec<&str> = self
                .params
                .iter()
                .filter(|(m, _)| module_stem(m) == stem)
                .map(|(_, p)| p.as_str())
                .collect();
            let params = params.join(" ");
            insmods.push_str(&format!(
                "insmod /{dest} {params} || echo \"insmod {dest} failed\"\n"
            ));
        }
        for (path, contents) in &self.files {
            let dest = root.join(path.trim_start_matches('/'));
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(dest, contents)?;
        }
        let init = format!(
            "#!/bin/busybox sh\n\
             /bin/busybox --install -s /bin\n\
             mount -t proc proc /proc\n\
             mount -t sysfs sys /sys\n\
             mount -t devtmpfs dev /dev\n\
             mount -t tmpfs run /run\n\
             {insmods}\
             ip link set lo up\n\
             echo KITH-GUEST-BOOTED\n\
             (\n{script}\n)\n\
             echo {DONE}\n\
             poweroff -f\n",
            script = self.script
        );
        let init_path = root.join("init");
        std::fs::write(&init_path, init)?;
        make_executable(&init_path)
    }
}

/// Kills QEMU when the guest is dropped early (a panicking test).
struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// `8021q.ko` and `8021q` -> `8021q`; `-` and `_` are the same in module names.
fn module_stem(name: &str) -> String {
    name.split(".ko").next().unwrap_or(name).replace('-', "_")
}

/// The shared libraries (and the dynamic loader) `binary` needs, from `ldd`.
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .context("cannot run ldd")?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('/')))
        .map(PathBuf::from)
        .collect())
}

/// The module files to insmod, dependencies first, for `wanted` (names such as
/// `8021q`), read from the kernel's modules.dep.
fn module_load_order(mdir: &Path, wanted: &[String]) -> Result<Vec<PathBuf>> {
    let dep_file = mdir.join("modules.dep");
    let dep = std::fs::read_to_string(&dep_file)
        .with_context(|| format!("{} unreadable; {INSTALL}", dep_file.display()))?;
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for name in wanted {
        let (path, deps) = dep
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(p, _)| module_stem(p.rsplit('/').next().unwrap_or(p)) == module_stem(name))
            .with_context(|| format!("module {name} is not in {}", dep_file.display()))?;
        // modules.dep lists every (transitive) dependency; the last ones load first.
        for d in deps.split_whitespace().rev().chain([path]) {
            if seen.insert(d.to_string()) {
                order.push(mdir.join(d));
            }
        }
    }
    Ok(order)
}

/// Packs `root` as a newc cpio archive (what the kernel unpacks as its initramfs).
fn pack_cpio(root: &Path, out: &Path) -> Result<()> {
    let status = Command::new("sh")
        .arg("-c")
        .arg("cd \"$1\" && find . | cpio -o -H newc --quiet > \"$2\"")
        .arg("pack_cpio")
        .arg(root)
        .arg(out)
        .status()
        .with_context(|| format!("cannot run cpio; {INSTALL}"))?;
    if !status.success() {
        bail!("cpio failed; {INSTALL}");
    }
    Ok(())
}
