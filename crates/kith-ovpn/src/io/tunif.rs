//! The tun interface of one connected tunnel: named after the account or client label
//! (kernel name from `kith_net::kernel_name`, the label as altname), the /32 address
//! pair, the MTU, up. Removed when dropped (the tun is not persistent).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use kith_net::{AsyncTun, Net, TunDevice};

/// A tunnel's interface.
#[derive(Debug)]
pub struct TunnelInterface {
    tun: AsyncTun,
    label: String,
}

impl TunnelInterface {
    /// Creates `label` with `local` peer `remote`/32 and `mtu`.
    pub async fn create(
        net: &Net,
        label: &str,
        local: Ipv4Addr,
        remote: Ipv4Addr,
        mtu: u32,
    ) -> Result<TunnelInterface, String> {
        let kname = kith_net::kernel_name(label);
        let dev = TunDevice::create(&kname, false)
            .map_err(|e| format!("cannot create interface {label}: {e}"))?;
        let tun = dev
            .into_async()
            .map_err(|e| format!("interface {label}: {e}"))?;
        let setup = async {
            if kname != label {
                net.add_altname(kname.as_str(), label).await?;
            }
            net.set_mtu(kname.as_str(), mtu).await?;
            let peer = IpNet::new(IpAddr::V4(remote), 32).unwrap_or(IpNet::V4(Default::default()));
            net.add_address_peer(kname.as_str(), IpAddr::V4(local), peer)
                .await?;
            net.set_up(kname.as_str()).await
        };
        setup.await.map_err(|e| format!("interface {label}: {e}"))?;
        Ok(TunnelInterface {
            tun,
            label: label.to_string(),
        })
    }

    /// The interface label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Reads one IP packet sent into the tunnel.
    pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.tun.recv(buf).await
    }

    /// Reads one IP packet sent into the tunnel if one is waiting (`WouldBlock` if not).
    pub fn try_recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.tun.try_recv(buf)
    }

    /// Writes one IP packet that came out of the tunnel.
    pub async fn send(&self, packet: &[u8]) -> std::io::Result<usize> {
        self.tun.send(packet).await
    }
}
