//! The test namespace helper itself: isolation, cleanup, cleanup after a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use kith_net::Net;
use kith_net::testns::TestNetns;

fn listed(name: &str) -> bool {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name))
}

#[test]
fn namespace_is_named_isolated_and_removed() {
    let ns = common::ns("helper");
    let name = ns.name().to_string();
    assert!(
        name.starts_with(&format!("kt-{}-", std::process::id())),
        "{name}"
    );
    assert!(name.ends_with("-helper"), "{name}");
    assert!(listed(&name));
    assert!(ns.path().exists());
    let links = ns.run(|| async { Net::new().unwrap().links().await.unwrap() });
    let names: Vec<&str> = links.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["lo"], "a fresh namespace has only loopback");
    assert!(links[0].up, "loopback is up");
    let out = ns.exec("ip", &["-o", "link"]).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(ns.try_run(|| async { 7 }).unwrap() == 7);
    drop(ns);
    assert!(!listed(&name), "{name} still listed after drop");
}

#[test]
fn namespace_is_removed_after_a_panic_inside() {
    let mut name = String::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let ns = common::ns("panics");
        name = ns.name().to_string();
        ns.run(|| async {
            Net::new().unwrap().create_veth("x0", "x1").await.unwrap();
            panic!("boom inside the namespace");
        })
    }));
    let payload = result.expect_err("the panic propagates");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"boom inside the namespace")
    );
    assert!(!name.is_empty());
    assert!(!listed(&name), "{name} leaked after a panic");
}

#[test]
fn two_namespaces_do_not_see_each_other() {
    let a = common::ns("iso-a");
    let b = common::ns("iso-b");
    a.run(|| async {
        Net::new()
            .unwrap()
            .create_bridge("only-in-a")
            .await
            .unwrap()
    });
    let seen = b.run(|| async { Net::new().unwrap().link_index("only-in-a").await.unwrap() });
    assert_eq!(seen, None);
    assert_ne!(a.name(), b.name());
}

#[test]
fn helpers_report_failures() {
    let ns = common::ns("helpers");
    let e = ns.ip(&["link", "show", "nosuchdev"]).unwrap_err();
    assert!(e.to_string().contains("nosuchdev"), "{e}");
    assert!(ns.exec("false", &[]).is_err());
    let ok = TestNetns::new("x").unwrap();
    assert_ne!(ok.name(), ns.name());
}
