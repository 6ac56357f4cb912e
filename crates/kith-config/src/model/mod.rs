//! The typed configuration model: one struct per RouterOS menu, with RouterOS defaults.

mod firewall;
mod interface;
mod ip;
mod ppp;
mod routing;
mod user;

pub use firewall::*;
pub use interface::*;
pub use ip::*;
pub use ppp::*;
pub use routing::*;
pub use user::*;

menu! {
    /// A whole router: `/etc/kith/config.yaml`.
    pub struct Config = "the top level" {
        /// `/system`.
        system: System = "system", default(System::default());
        /// `/interface`.
        interface: Interfaces = "interface", default(Interfaces::default());
        /// `/ip`.
        ip: Ip = "ip", default(Ip::default());
        /// `/ipv6`.
        ipv6: Ipv6 = "ipv6", default(Ipv6::default());
        /// `/ppp`.
        ppp: Ppp = "ppp", default(Ppp::default());
        /// `/routing`.
        routing: Routing = "routing", default(Routing::default());
        /// `/user`.
        user: Vec<User> = "user", list;
    }
}

menu! {
    /// `/system` settings.
    pub struct System = "system" {
        /// `/system identity name`: the router's name.
        identity: String = "identity", default("MikroTik".to_owned());
    }
}
