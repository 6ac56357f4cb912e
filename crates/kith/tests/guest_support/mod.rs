//! A QEMU guest for what this machine's kernel lacks (VLAN, bonding): Debian's kernel
//! (unpacked by `ci/guest-kernel.sh`), an initramfs made here of busybox-static, the
//! `kith` binary under test with the shared libraries it links, the kernel modules asked
//! for (with their dependencies, from modules.dep), the files given, and a shell script
//! that runs as the guest's init. The guest has `nics` e1000 NICs (eth0, eth1, ...) on
//! one QEMU hub: no link leaves QEMU. Its serial console is the test's evidence.
//!
//! Missing pieces (qemu, busybox-static, cpio, the unpacked kernel) fail the test with
//! the command that installs them; nothing is skipped.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KITH: &str = env!("CARGO_BIN_EXE_kith");

/// Printed by the init script when the test script finished (before power-off).
pub const DONE: &str = "KITH-GUEST-DONE";

/// Where `ci/guest-kernel.sh` unpacks the kernel, unless `KITH_GUEST_KERNEL_DIR` says.
fn kernel_dir() -> PathBuf {
    std::env::var_os("KITH_GUEST_KERNEL_DIR").map_or_else(
        || PathBuf::from("/var/cache/kith/guest-kernel"),
        PathBuf::from,
    )
}

fn require(what: &str, path: &Path) {
    assert!(
        path.exists(),
        "the QEMU guest test needs {what} ({} is missing); run `sudo ci/install-deps.sh`",
        path.display()
    );
}

/// A guest to boot.
pub struct Guest {
    nics: usize,
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
            modules: Vec::new(),
            params: Vec::new(),
            files: Vec::new(),
            script: script.to_string(),
        }
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

    /// Boots the guest, runs the script and returns the serial console's output once
    /// the guest powered off (or panics after `timeout`, with the output so far).
    pub fn run(&self, timeout: Duration) -> String {
        let kdir = kernel_dir();
        require(
            "Debian's kernel unpacked by ci/guest-kernel.sh",
            &kdir.join("ready"),
        );
        require("busybox-static", Path::new("/bin/busybox"));
        let release = std::fs::read_to_string(kdir.join("ready")).unwrap();
        let release = release.trim();
        let work = tempfile::tempdir().unwrap();
        let root = work.path().join("root");
        let initrd = work.path().join("initrd.cpio");
        self.build_root(&root, &kdir, release);
        pack_cpio(&root, &initrd);
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
            .unwrap_or_else(|e| {
                panic!("cannot start qemu-system-x86_64 ({e}); run `sudo ci/install-deps.sh`")
            });
        let mut qemu = Qemu(child);
        let mut stdout = qemu.0.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            String::from_utf8_lossy(&out).replace('\r', "")
        });
        let deadline = Instant::now() + timeout;
        loop {
            if qemu.0.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = qemu.0.kill();
                let _ = qemu.0.wait();
                let out = reader.join().unwrap_or_default();
                panic!("the guest did not power off within {timeout:?}; console:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut err = String::new();
        if let Some(mut e) = qemu.0.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let out = reader.join().unwrap();
        assert!(
            out.contains(DONE),
            "the guest stopped before its script finished; qemu said: {err}\nconsole:\n{out}"
        );
        out
    }

    fn build_root(&self, root: &Path, kdir: &Path, release: &str) {
        for d in [
            "bin", "sbin", "proc", "sys", "dev", "run", "tmp", "etc/kith", "mods",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
        std::fs::copy(KITH, root.join("bin/kith")).unwrap();
        for lib in shared_libraries(Path::new(KITH)) {
            let dest = root.join(lib.strip_prefix("/").unwrap());
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(&lib, &dest).unwrap();
        }
        let mut insmods = String::new();
        let mdir = kdir.join("lib/modules").join(release);
        for (i, ko) in module_load_order(&mdir, &self.modules).iter().enumerate() {
            let file = ko.file_name().unwrap().to_string_lossy().to_string();
            let dest = format!("mods/{i:02}-{file}");
            std::fs::copy(ko, root.join(&dest)).unwrap();
            let stem = file.split(".ko").next().unwrap_or(&file).replace('-', "_");
            let params: Vec<&str> = self
                .params
                .iter()
                .filter(|(m, _)| m.replace('-', "_") == stem)
                .map(|(_, p)| p.as_str())
                .collect();
            let params = params.join(" ");
            insmods.push_str(&format!(
                "insmod /{dest} {params} || echo \"insmod {dest} failed\"\n"
            ));
        }
        for (path, contents) in &self.files {
            let dest = root.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::write(dest, contents).unwrap();
        }
        let init = format!(
            "#!/bin/busybox sh\n\
             /bin/busybox --install -s /bin\n\
             mount -t proc proc /proc\n\
             mount -t sysfs sys /sys\n\
             mount -t devtmpfs dev /dev\n\
             {insmods}\
             ip link set lo up\n\
             echo KITH-GUEST-BOOTED\n\
             (\n{script}\n)\n\
             echo {DONE}\n\
             poweroff -f\n",
            script = self.script
        );
        let init_path = root.join("init");
        std::fs::write(&init_path, init).unwrap();
        make_executable(&init_path);
    }
}

/// Kills QEMU if the test panics.
struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The shared libraries (and the dynamic loader) `binary` needs, from `ldd`.
fn shared_libraries(binary: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(binary).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('/')))
        .map(PathBuf::from)
        .collect()
}

/// The module files to insmod, dependencies first, for `wanted` (names such as
/// `8021q`), read from the kernel's modules.dep.
fn module_load_order(mdir: &Path, wanted: &[String]) -> Vec<PathBuf> {
    let dep = std::fs::read_to_string(mdir.join("modules.dep")).unwrap();
    let deps_of = |path: &str| -> Vec<String> {
        dep.lines()
            .find_map(|l| l.strip_prefix(path)?.strip_prefix(':'))
            .map(|rest| rest.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let path_of = |name: &str| -> String {
        dep.lines()
            .filter_map(|l| l.split(':').next())
            .find(|p| {
                let file = p.rsplit('/').next().unwrap_or(p);
                let stem = file.split(".ko").next().unwrap_or(file);
                stem.replace('-', "_") == name.replace('-', "_")
            })
            .unwrap_or_else(|| panic!("module {name} is not in {}", mdir.display()))
            .to_string()
    };
    // modules.dep lists every (transitive) dependency; the last ones load first.
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for name in wanted {
        let path = path_of(name);
        for d in deps_of(&path).into_iter().rev().chain([path]) {
            if seen.insert(d.clone()) {
                order.push(mdir.join(d));
            }
        }
    }
    order
}

/// Packs `root` as a newc cpio archive (what the kernel unpacks as its initramfs).
fn pack_cpio(root: &Path, out: &Path) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd '{}' && find . | cpio -o -H newc --quiet > '{}'",
            root.display(),
            out.display()
        ))
        .status()
        .unwrap_or_else(|e| panic!("cannot run cpio ({e}); run `sudo ci/install-deps.sh`"));
    assert!(
        status.success(),
        "cpio failed; run `sudo ci/install-deps.sh`"
    );
}
