//! What vpnd knows about its tunnels, for status and for `only-one`: one row per
//! tunnel, and which tunnel holds each account.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

/// One tunnel in `GET /status`, like `/interface ovpn-server print detail`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TunnelStatus {
    /// Interface label.
    pub name: String,
    /// `server` or `client`.
    pub kind: String,
    /// The account.
    pub user: String,
    /// The peer's transport address.
    pub peer: String,
    /// `connecting` or `connected`.
    pub state: String,
    /// This end's tunnel address.
    pub local_address: String,
    /// The peer's tunnel address.
    pub remote_address: String,
    /// `AES-128-CBC/SHA1`, `AES-256-GCM`, ...
    pub encoding: String,
    /// Seconds since the tunnel came up.
    pub uptime: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
}

/// The whole status document.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    /// Every tunnel, sorted by name.
    pub tunnels: Vec<TunnelStatus>,
}

/// Asks one tunnel to close, saying why (for its log line).
#[derive(Debug, Default)]
pub struct CloseSignal {
    notify: Notify,
    reason: Mutex<Option<String>>,
}

impl CloseSignal {
    /// Asks the tunnel to close for `reason`.
    pub fn close(&self, reason: &str) {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.to_string());
        self.notify.notify_one();
    }

    /// Resolves once [`CloseSignal::close`] was called, with its reason.
    pub async fn closed(&self) -> String {
        self.notify.notified().await;
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "closed".to_string())
    }
}

struct Holder {
    id: u64,
    close: Arc<CloseSignal>,
    gone: watch::Receiver<bool>,
}

/// Shared by every tunnel task.
#[derive(Default)]
pub struct Registry {
    rows: Mutex<HashMap<u64, TunnelStatus>>,
    accounts: Mutex<HashMap<String, Holder>>,
    /// The certificate serial each server tunnel's peer logged in with.
    serials: Mutex<HashMap<u64, (String, Holder)>>,
    /// Serials revoked by the last [`Registry::close_serials`]: a tunnel whose
    /// handshake began before the CRL changed and ends after it is closed as it comes up.
    revoked: Mutex<Vec<String>>,
    next: Mutex<u64>,
}

impl Registry {
    /// A fresh tunnel id.
    pub fn next_id(&self) -> u64 {
        let mut n = self.next.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        *n
    }

    /// Sets a tunnel's row.
    pub fn update(&self, id: u64, row: TunnelStatus) {
        self.rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, row);
    }

    /// Removes a tunnel's row and its account claim.
    pub fn remove(&self, id: u64) {
        self.rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, h| h.id != id);
        self.serials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Notes that tunnel `id`'s peer logged in with the certificate of `serial`.
    pub fn note_serial(
        &self,
        id: u64,
        serial: &str,
        close: Arc<CloseSignal>,
        gone: watch::Receiver<bool>,
    ) {
        let revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
        if revoked.iter().any(|r| r == serial) {
            close.close("its certificate was revoked (CRL)");
            return;
        }
        self.serials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (serial.to_string(), Holder { id, close, gone }));
    }

    /// Closes every tunnel whose peer logged in with a certificate in `revoked`, for
    /// `reason`; returns their "interface gone" watches.
    pub fn close_serials(&self, revoked: &[String], reason: &str) -> Vec<watch::Receiver<bool>> {
        *self.revoked.lock().unwrap_or_else(|e| e.into_inner()) = revoked.to_vec();
        let mut serials = self.serials.lock().unwrap_or_else(|e| e.into_inner());
        let hit: Vec<u64> = serials
            .iter()
            .filter(|(_, (serial, _))| revoked.contains(serial))
            .map(|(id, _)| *id)
            .collect();
        hit.into_iter()
            .filter_map(|id| serials.remove(&id))
            .map(|(_, holder)| {
                holder.close.close(reason);
                holder.gone
            })
            .collect()
    }

    /// Makes tunnel `id` the holder of `account`; returns the previous holder's close
    /// signal and its "interface gone" watch, to be closed first (`only-one`).
    pub fn claim(
        &self,
        account: &str,
        id: u64,
        close: Arc<CloseSignal>,
        gone: watch::Receiver<bool>,
    ) -> Option<(Arc<CloseSignal>, watch::Receiver<bool>)> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let old = accounts.insert(account.to_string(), Holder { id, close, gone });
        old.filter(|h| h.id != id).map(|h| (h.close, h.gone))
    }

    /// Closes the tunnel holding `account` for `reason`; returns its "interface gone"
    /// watch, or `None` when no tunnel of that account is up.
    pub fn close_account(&self, account: &str, reason: &str) -> Option<watch::Receiver<bool>> {
        let holder = self
            .accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(account)?;
        holder.close.close(reason);
        Some(holder.gone)
    }

    /// The status document.
    pub fn status(&self) -> Status {
        let mut tunnels: Vec<TunnelStatus> = self
            .rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        tunnels.sort_by(|a, b| a.name.cmp(&b.name).then(a.peer.cmp(&b.peer)));
        Status { tunnels }
    }
}
