//! FRR daemons in a lab node: a work directory FRR's user may enter (removed on drop,
//! also when the test panics) and the common command line of zebra, bgpd and bfdd.

use std::path::PathBuf;

use kith_lab::Lab;

/// A directory FRR's user may use, removed on drop.
pub struct FrrWork(pub PathBuf);

impl FrrWork {
    /// A fresh directory named after the process and `tag`.
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kith-frr-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        FrrWork(dir)
    }

    /// Writes `<name>.conf`.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(format!("{name}.conf")), text).unwrap();
    }

    /// Hands the directory to user `frr`.
    pub fn chown(&self) {
        let ok = std::process::Command::new("chown")
            .args(["-R", "frr:frr", self.0.to_str().unwrap()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "chown frr:frr {} failed (is the frr package installed?)",
            self.0.display()
        );
    }

    /// Starts FRR daemon `name` (`zebra`, `bgpd`, `bfdd`) on `node`, as process
    /// `frr-<name>`.
    pub fn spawn(&self, lab: &Lab, node: &str, name: &str, extra: &[&str]) {
        let d = self.0.to_str().unwrap().to_string();
        let mut argv = vec![
            format!("/usr/lib/frr/{name}"),
            "-f".into(),
            format!("{d}/{name}.conf"),
            "-i".into(),
            format!("{d}/{name}.pid"),
            "-z".into(),
            format!("{d}/zserv.api"),
            "--vty_socket".into(),
            d.clone(),
            "-u".into(),
            "frr".into(),
            "-g".into(),
            "frr".into(),
        ];
        argv.extend(extra.iter().map(ToString::to_string));
        lab.spawn(node, &format!("frr-{name}"), &argv, &[])
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        if name == "zebra" {
            lab.wait_until("zebra socket", super::WAIT, || {
                self.0.join("zserv.api").exists()
            })
            .unwrap();
        }
    }

    /// `vtysh -c <cmd>` against these daemons.
    pub fn vtysh(&self, cmd: &str) -> Vec<String> {
        vec![
            "vtysh".to_string(),
            "--vty_socket".into(),
            self.0.to_str().unwrap().to_string(),
            "-c".into(),
            cmd.into(),
        ]
    }
}

impl Drop for FrrWork {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
