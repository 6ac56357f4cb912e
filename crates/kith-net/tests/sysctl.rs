//! Sysctls are per network namespace: set them in one, check them there and not elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::ns;
use kith_net::{
    Net, set_forwarding, set_ignore_routes_with_linkdown, set_rp_filter, sysctl_get, sysctl_set,
};

#[test]
fn sysctls_are_set_in_the_namespace() {
    let ns = ns("sysctl");
    let other = common::ns("sysctl-other");
    ns.run(|| async {
        set_forwarding(true, true).unwrap();
        assert_eq!(sysctl_get("net/ipv4/ip_forward").unwrap(), "1");
        assert_eq!(sysctl_get("net.ipv6.conf.all.forwarding").unwrap(), "1");

        set_rp_filter("all", 2).unwrap();
        assert_eq!(sysctl_get("net/ipv4/conf/all/rp_filter").unwrap(), "2");
        let net = Net::new().unwrap();
        net.create_veth("s0.832", "s1").await.unwrap();
        set_rp_filter("s0.832", 1).unwrap();
        assert_eq!(sysctl_get("net/ipv4/conf/s0.832/rp_filter").unwrap(), "1");

        set_ignore_routes_with_linkdown("all", true).unwrap();
        assert_eq!(
            sysctl_get("net/ipv4/conf/all/ignore_routes_with_linkdown").unwrap(),
            "1"
        );
        assert_eq!(
            sysctl_get("net/ipv6/conf/all/ignore_routes_with_linkdown").unwrap(),
            "1"
        );
        set_ignore_routes_with_linkdown("s1", true).unwrap();
        assert_eq!(
            sysctl_get("net/ipv4/conf/s1/ignore_routes_with_linkdown").unwrap(),
            "1"
        );

        sysctl_set("net/ipv4/conf/default/accept_redirects", "0").unwrap();
        assert_eq!(
            sysctl_get("net/ipv4/conf/default/accept_redirects").unwrap(),
            "0"
        );

        let e = set_rp_filter("nosuchif", 1).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "cannot set sysctl net/ipv4/conf/nosuchif/rp_filter to 1: No such file or directory"
            ),
            "{e}"
        );
        set_forwarding(false, true).unwrap();
        assert_eq!(sysctl_get("net/ipv4/ip_forward").unwrap(), "0");
        set_forwarding(true, true).unwrap();
    });
    // iproute2's view from inside agrees.
    let out = ns.exec("cat", &["/proc/sys/net/ipv4/ip_forward"]).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    // Another namespace is untouched.
    other.run(|| async {
        assert_eq!(sysctl_get("net/ipv4/ip_forward").unwrap(), "0");
        assert_eq!(
            sysctl_get("net/ipv4/conf/all/ignore_routes_with_linkdown").unwrap(),
            "0"
        );
    });
}
