//! Lab topologies: the YAML format, its validation, and the embedded scenario.
//!
//! ```yaml
//! # A topology: nodes, then links. Unknown keys are errors (with line:column).
//! nodes:
//!   - name: home              # [a-z0-9][a-z0-9-]*, at most 24 characters
//!     kind: router            # router | isp | host
//!     config: home.yaml       # routers only: a kith config file, relative to this
//!                             # file's directory; or the config inline as a block
//!                             # scalar (`config: |` then the YAML text)
//!     commands:               # shell commands (sh -c) run in the node once every
//!       - ip route add 10.9.0.0/16 via 10.1.1.1   # link is up, in order
//!     daemons:                # long-running programs started with the routers
//!       - dnsmasq --keep-in-foreground ...        # (process named after the
//!                             # program, log <workdir>/<node>-<program>.log,
//!                             # stopped with the lab); not with `--no-routers`
//!   - name: isp1
//!     kind: isp
//!   - name: pc
//!     kind: host
//!     commands: [ip route add default via 10.2.2.1]
//! links:
//!   # One veth pair per link: two endpoints `node:ifname [address ...]`.
//!   # Addresses are optional (a router's usually come from its kith config).
//!   - [home:eth0 10.1.1.2/24, isp1:home 10.1.1.1/24]
//!   - [home:eth2 10.2.2.1/24, pc:eth0 10.2.2.2/24 fd00:2::2/64]
//! ```
//!
//! Routers and ISPs forward; every node has `lo` up. Interface names follow the
//! kernel's rules (at most 15 characters, no `/`, `:` or blanks).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, MessageFormatter, Spanned, UserMessageFormatter};

use crate::error::{Error, Result};

/// The scenario topology file, embedded.
pub const SCENARIO_TOPOLOGY: &str = include_str!("../scenario/topology.yaml");
/// The scenario's `home` router config (same format as `examples/home.yaml`).
pub const SCENARIO_HOME_CONFIG: &str = include_str!("../scenario/home.yaml");
/// The scenario's `remi` router config (same format as `examples/remi.yaml`).
pub const SCENARIO_REMI_CONFIG: &str = include_str!("../scenario/remi.yaml");

/// What a node is; decides its sysctls and whether `kith run` starts in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A Kith router: forwards; runs `kith run` when it has a config.
    Router,
    /// An ISP: forwards, routes between its customers and the other ISPs.
    Isp,
    /// An end host (a NAS, a PC): does not forward.
    Host,
}

impl NodeKind {
    /// True for the kinds that forward packets.
    pub fn forwards(self) -> bool {
        matches!(self, NodeKind::Router | NodeKind::Isp)
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NodeKind::Router => "router",
            NodeKind::Isp => "isp",
            NodeKind::Host => "host",
        })
    }
}

/// A validated topology.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Topology {
    /// Nodes, in the order they are created.
    pub nodes: Vec<NodeSpec>,
    /// Links, in the order they are created.
    pub links: Vec<LinkSpec>,
}

/// One node of a topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub kind: NodeKind,
    /// The kith config of a router (already read when it was a file).
    pub config: Option<RouterConfig>,
    /// Shell commands run in the node after every link is up.
    pub commands: Vec<String>,
    /// Long-running programs (shell command lines, kept in the foreground) started
    /// with the routers and stopped with the lab (a DNS server in an ISP).
    pub daemons: Vec<String>,
}

/// A router's kith config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterConfig {
    /// Where it came from: a path, `inline`, or `scenario/<file>`.
    pub origin: String,
    /// The YAML text, written as is to the lab's work dir (mode 0600).
    pub text: String,
}

/// One veth pair between two nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    pub a: Endpoint,
    pub b: Endpoint,
}

/// One end of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub node: String,
    pub ifname: String,
    pub addresses: Vec<IpNet>,
}

impl Endpoint {
    /// An endpoint without addresses.
    pub fn new(node: &str, ifname: &str) -> Self {
        Endpoint {
            node: node.to_owned(),
            ifname: ifname.to_owned(),
            addresses: Vec::new(),
        }
    }

    /// Parses `node:ifname [address ...]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        let Some(head) = words.next() else {
            return Err("empty endpoint, expected `node:ifname [address ...]`".into());
        };
        let Some((node, ifname)) = head.split_once(':') else {
            return Err(format!(
                "endpoint `{head}` is not `node:ifname` (e.g. `home:eth0 10.1.1.2/24`)"
            ));
        };
        let addresses = words
            .map(|w| {
                w.parse::<IpNet>().map_err(|_| {
                    format!("`{w}` is not an address with a prefix length (e.g. 10.1.1.2/24)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Endpoint {
            node: node.to_owned(),
            ifname: ifname.to_owned(),
            addresses,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node, self.ifname)?;
        for a in &self.addresses {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// Checks a node name: it becomes part of a namespace name and of file names.
pub fn check_node_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let starts_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty() || name.len() > 24 || !ok_chars || !starts_ok {
        return Err(format!(
            "node name `{name}` must be 1-24 characters of a-z, 0-9 and `-`, not starting with `-`"
        ));
    }
    Ok(())
}

/// Checks an interface name against the kernel's rules (and `ip`'s `:` labels).
pub fn check_ifname(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if name.is_empty() || name.len() > 15 || !ok_chars || name == "." || name == ".." {
        return Err(format!(
            "interface name `{name}` must be 1-15 characters of A-Z, a-z, 0-9, `-`, `_`, `.`"
        ));
    }
    if name == "lo" {
        return Err("interface name `lo` is the loopback, already there".into());
    }
    Ok(())
}

/// Where in a parsed file a problem lies (used to locate validation errors).
#[derive(Debug, Clone, Copy)]
enum Where {
    Node(usize),
    End(usize, usize),
}

impl Topology {
    /// Parses a topology. `origin` names the text in errors (a path, `scenario`);
    /// relative router config paths are read from `base_dir` (the current
    /// directory when `None`).
    pub fn parse(text: &str, origin: &str, base_dir: Option<&Path>) -> Result<Topology> {
        let base = base_dir.map(Path::to_path_buf).unwrap_or_default();
        parse_with(text, origin, &|path: &str| {
            let full = base.join(path);
            std::fs::read_to_string(&full).map_err(|e| format!("{}: {e}", full.display()))
        })
    }

    /// Reads and parses a topology file; router config paths are relative to it.
    pub fn load(path: &Path) -> Result<Topology> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read topology {}", path.display()), e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Topology::parse(&text, &path.display().to_string(), Some(&base))
    }

    /// The scenario of DESIGN.md: routers `home` and `remi`, ISPs `isp1` and
    /// `isp2`, hosts `nas-home` and `nas-remi` (see `scenario/topology.yaml`).
    pub fn scenario() -> Result<Topology> {
        parse_with(
            SCENARIO_TOPOLOGY,
            "scenario/topology.yaml",
            &|path: &str| match path {
                "home.yaml" => Ok(SCENARIO_HOME_CONFIG.to_owned()),
                "remi.yaml" => Ok(SCENARIO_REMI_CONFIG.to_owned()),
                other => Err(format!("the embedded scenario has no file `{other}`")),
            },
        )
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeSpec> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Checks names, references and duplicates (what [`Topology::parse`] checks,
    /// for a topology built in code).
    pub fn validate(&self) -> Result<()> {
        self.check().map_err(|(_, msg)| Error::InvalidTopology(msg))
    }

    fn check(&self) -> Result<(), (Where, String)> {
        let mut kinds = HashMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            check_node_name(&node.name).map_err(|m| (Where::Node(i), m))?;
            if kinds.insert(node.name.as_str(), node.kind).is_some() {
                return Err((Where::Node(i), format!("duplicate node `{}`", node.name)));
            }
            if node.config.is_some() && node.kind != NodeKind::Router {
                return Err((
                    Where::Node(i),
                    format!(
                        "node `{}` is a {}: only routers take a kith `config`",
                        node.name, node.kind
                    ),
                ));
            }
        }
        let mut ifnames = HashSet::new();
        for (i, link) in self.links.iter().enumerate() {
            for (j, end) in [&link.a, &link.b].into_iter().enumerate() {
                let at = Where::End(i, j);
                if !kinds.contains_key(end.node.as_str()) {
                    return Err((at, format!("link names unknown node `{}`", end.node)));
                }
                check_ifname(&end.ifname).map_err(|m| (at, m))?;
                if !ifnames.insert((end.node.clone(), end.ifname.clone())) {
                    return Err((
                        at,
                        format!("interface `{}:{}` is used twice", end.node, end.ifname),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopology {
    nodes: Vec<RawNode>,
    #[serde(default)]
    links: Vec<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    name: Spanned<String>,
    kind: NodeKind,
    #[serde(default)]
    config: Option<Spanned<String>>,
    #[serde(default)]
    commands: Vec<String>,
    #[serde(default)]
    daemons: Vec<String>,
}

fn located(origin: &str, at: Option<Location>, message: String) -> Error {
    let at = at.unwrap_or(Location::UNKNOWN);
    Error::Topology {
        origin: origin.to_owned(),
        line: at.line().max(1),
        column: at.column().max(1),
        message,
    }
}

/// Parses with a resolver for relative config paths.
fn parse_with(
    text: &str,
    origin: &str,
    read_config: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Topology> {
    let raw: RawTopology = serde_saphyr::from_str(text).map_err(|e| {
        let message = UserMessageFormatter
            .format_message(e.without_snippet())
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        located(origin, e.location(), message)
    })?;

    let mut node_at = Vec::new();
    let mut nodes = Vec::new();
    for raw_node in raw.nodes {
        node_at.push(raw_node.name.referenced);
        if let Some(cfg) = &raw_node.config
            && raw_node.kind != NodeKind::Router
        {
            return Err(located(
                origin,
                Some(cfg.referenced),
                format!(
                    "node `{}` is a {}: only routers take a kith `config`",
                    raw_node.name.value, raw_node.kind
                ),
            ));
        }
        let config = match raw_node.config {
            None => None,
            Some(cfg) if cfg.value.contains('\n') => Some(RouterConfig {
                origin: "inline".into(),
                text: cfg.value,
            }),
            Some(cfg) => {
                let path = cfg.value.trim();
                let text = read_config(path).map_err(|m| {
                    located(
                        origin,
                        Some(cfg.referenced),
                        format!("cannot read router config: {m}"),
                    )
                })?;
                Some(RouterConfig {
                    origin: path.to_owned(),
                    text,
                })
            }
        };
        nodes.push(NodeSpec {
            name: raw_node.name.value,
            kind: raw_node.kind,
            config,
            commands: raw_node.commands,
            daemons: raw_node.daemons,
        });
    }

    let mut link_at = Vec::new();
    let mut links = Vec::new();
    for raw_link in raw.links {
        if raw_link.value.len() != 2 {
            return Err(located(
                origin,
                Some(raw_link.referenced),
                format!(
                    "a link has exactly two endpoints `[node:ifname addr, node:ifname addr]`, found {}",
                    raw_link.value.len()
                ),
            ));
        }
        let mut ends = Vec::new();
        let mut ends_at = Vec::new();
        for end in &raw_link.value {
            ends.push(
                Endpoint::parse(&end.value)
                    .map_err(|m| located(origin, Some(end.referenced), m))?,
            );
            ends_at.push(end.referenced);
        }
        link_at.push(ends_at);
        let b = ends.pop();
        let a = ends.pop();
        if let (Some(a), Some(b)) = (a, b) {
            links.push(LinkSpec { a, b });
        }
    }

    let topology = Topology { nodes, links };
    topology.check().map_err(|(at, message)| {
        let loc = match at {
            Where::Node(i) => node_at.get(i).copied(),
            Where::End(i, j) => link_at.get(i).and_then(|l| l.get(j).copied()),
        };
        located(origin, loc, message)
    })?;
    Ok(topology)
}

/// Resolves a topology file path, or the embedded scenario.
pub(crate) fn load_or_scenario(path: Option<&Path>) -> Result<Topology> {
    match path {
        Some(p) => Topology::load(p),
        None => Topology::scenario(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Topology> {
        Topology::parse(text, "t.yaml", None)
    }

    fn err_at(text: &str) -> (u64, u64, String) {
        match parse(text) {
            Err(Error::Topology {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a located error, got {other:?}"),
        }
    }

    #[test]
    fn parses_nodes_and_links() {
        let t = parse(
            "nodes:\n  - {name: a, kind: host}\n  - name: r\n    kind: router\n    config: |\n      system:\n        identity: r\n  - {name: b, kind: host, commands: [ip route add default via 10.0.2.1]}\nlinks:\n  - [a:eth0 10.0.1.2/24, r:eth0 10.0.1.1/24 fd00::1/64]\n  - [r:eth1, 'b:eth0 10.0.2.2/24']\n",
        )
        .unwrap();
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.nodes[1].kind, NodeKind::Router);
        let cfg = t.nodes[1].config.as_ref().unwrap();
        assert_eq!(cfg.origin, "inline");
        assert!(cfg.text.contains("identity: r"));
        assert_eq!(t.nodes[2].commands.len(), 1);
        assert_eq!(t.links[0].b.addresses.len(), 2);
        assert_eq!(t.links[1].a.to_string(), "r:eth1");
        assert_eq!(t.links[1].b.addresses[0].to_string(), "10.0.2.2/24");
    }

    #[test]
    fn unknown_field_is_located() {
        let (line, column, msg) = err_at("nodes:\n  - name: a\n    kind: host\n    colour: red\n");
        assert_eq!((line, column), (4, 5), "{msg}");
        assert!(msg.contains("colour"), "{msg}");
    }

    #[test]
    fn bad_kind_is_located() {
        let (line, column, msg) = err_at("nodes:\n  - name: a\n    kind: switch\n");
        assert_eq!(line, 3, "{msg}");
        assert!(column >= 5, "{column}");
        assert!(msg.contains("switch"), "{msg}");
    }

    #[test]
    fn link_errors_are_located() {
        let base = "nodes:\n  - {name: a, kind: host}\n  - {name: b, kind: host}\nlinks:\n";
        let (line, column, msg) = err_at(&format!("{base}  - [a:eth0, c:eth0]\n"));
        assert_eq!((line, column), (5, 14), "{msg}");
        assert!(msg.contains("unknown node `c`"), "{msg}");

        let (line, _, msg) = err_at(&format!("{base}  - [a:eth0 10.0.0.300/24, b:eth0]\n"));
        assert_eq!(line, 5);
        assert!(msg.contains("10.0.0.300/24"), "{msg}");

        let (line, _, msg) = err_at(&format!("{base}  - [a:eth0]\n"));
        assert_eq!(line, 5);
        assert!(msg.contains("exactly two"), "{msg}");

        let (line, _, msg) = err_at(&format!("{base}  - [a, b:eth0]\n"));
        assert_eq!(line, 5);
        assert!(msg.contains("node:ifname"), "{msg}");

        let (line, _, msg) = err_at(&format!(
            "{base}  - [a:eth0, b:eth0]\n  - [a:eth0, b:eth1]\n"
        ));
        assert_eq!(line, 6);
        assert!(msg.contains("used twice"), "{msg}");

        let (_, _, msg) = err_at(&format!("{base}  - [a:averyveryverylongname, b:eth0]\n"));
        assert!(msg.contains("1-15"), "{msg}");
    }

    #[test]
    fn node_errors_are_located() {
        let (line, column, msg) =
            err_at("nodes:\n  - {name: a, kind: host}\n  - {name: a, kind: isp}\n");
        assert_eq!((line, column), (3, 12), "{msg}");
        assert!(msg.contains("duplicate"), "{msg}");

        let (line, _, msg) = err_at("nodes:\n  - {name: Bad_Name, kind: host}\n");
        assert_eq!(line, 2);
        assert!(msg.contains("a-z"), "{msg}");

        let (line, _, msg) = err_at("nodes:\n  - {name: h, kind: host, config: x.yaml}\n");
        assert_eq!(line, 2);
        assert!(msg.contains("only routers"), "{msg}");

        let (line, _, msg) =
            err_at("nodes:\n  - {name: r, kind: router, config: /nonexistent/k.yaml}\n");
        assert_eq!(line, 2);
        assert!(msg.contains("/nonexistent/k.yaml"), "{msg}");
    }

    #[test]
    fn syntax_errors_are_located() {
        let (line, _, _) = err_at("nodes:\n  - name: a\n    kind: [host\n");
        assert!(line >= 3);
        let err = parse("nodes: 3\n").unwrap_err().to_string();
        assert!(err.starts_with("t.yaml:1:"), "{err}");
    }

    #[test]
    fn display_names_file_line_column() {
        let err = parse("nodes:\n  - {name: a, kind: host, x: 1}\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.yaml:2:"), "{err}");
    }

    #[test]
    fn scenario_parses() {
        let t = Topology::scenario().unwrap();
        let names: Vec<_> = t.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            ["isp1", "isp2", "home", "remi", "nas-home", "nas-remi"]
        );
        assert_eq!(t.links.len(), 7);
        assert_eq!(t.node("home").unwrap().kind, NodeKind::Router);
        assert!(
            t.node("home")
                .unwrap()
                .config
                .as_ref()
                .unwrap()
                .text
                .contains("192.168.0.254/24")
        );
        assert!(
            t.node("remi")
                .unwrap()
                .config
                .as_ref()
                .unwrap()
                .text
                .contains("192.168.42.252/24")
        );
    }

    #[test]
    fn validate_catches_code_built_mistakes() {
        let t = Topology {
            nodes: vec![NodeSpec {
                name: "a".into(),
                kind: NodeKind::Host,
                config: None,
                commands: vec![],
                daemons: vec![],
            }],
            links: vec![LinkSpec {
                a: Endpoint::new("a", "eth0"),
                b: Endpoint::new("z", "eth0"),
            }],
        };
        assert!(t.validate().unwrap_err().to_string().contains("`z`"));
    }
}
