//! The tunnel engine: one OpenVPN session between this end and one peer.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::config::{Account, Authenticator, LoginRequest, SessionConfig};
use super::key::KeyState;
use crate::codec::data::{PEER_ID_UNDEF, exit_notify_payload};
use crate::codec::keymethod::{KeyMethod2, Password};
use crate::codec::options::{
    self, IV_PROTO_DATA_V2, IV_PROTO_REQUEST_PUSH, IV_PROTO_TLS_KEY_EXPORT, PeerInfo, PushReply,
    PushRoute,
};
use crate::codec::wrap::{AuthDigest, Wrapper};
use crate::codec::{
    AckList, ControlRepr, DataHeader, Header, Opcode, SessionId, is_exit_notify, is_ping,
};
use crate::crypto::prf::{EKM_LABEL, expand_prf};
use crate::crypto::suite::digest_name;
use crate::crypto::{CipherKind, CryptoError, DataKey, Suite};

/// Largest TLS payload in one `P_CONTROL_V1` (openvpn 2.6's `tls-mtu` is 1250 bytes
/// for the whole packet).
const MAX_CONTROL_PAYLOAD: usize = 1100;
/// How long a client waits for a PUSH_REPLY before asking again.
const PUSH_RETRY: Duration = Duration::from_secs(3);
/// How long a refused or closing tunnel keeps sending what is queued.
const LINGER: Duration = Duration::from_secs(2);

/// What the engine asks its I/O to do.
#[derive(Debug)]
pub enum Action {
    /// Send this packet to the peer (framed by the I/O layer on TCP).
    Send(Vec<u8>),
    /// Write this IP packet to the tunnel interface.
    Deliver(Vec<u8>),
    /// The tunnel is up (first key ready): create the interface.
    Up(Established),
    /// The tunnel is over; the reason is written for the log.
    Down(String),
}

/// A tunnel that came up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Established {
    /// The account (server side).
    pub account: Option<Account>,
    /// This end's tunnel address.
    pub local: Option<Ipv4Addr>,
    /// The peer's tunnel address.
    pub remote: Option<Ipv4Addr>,
    /// Routes through the tunnel (pushed to a client).
    pub routes: Vec<PushRoute>,
    /// The data channel suite.
    pub suite: Suite,
    /// Whether the keys came from the TLS exporter.
    pub tls_ekm: bool,
    /// MTU (pushed or the account's).
    pub mtu: Option<u32>,
    /// The peer's OpenVPN version (`IV_VER`).
    pub peer_version: Option<String>,
    /// Serial of the peer's certificate (server side, when it sent one): a reload
    /// that revokes it closes this tunnel.
    pub peer_serial: Option<String>,
}

/// Counters for status and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tunnel payload bytes received.
    pub bytes_in: u64,
    /// Tunnel payload bytes sent.
    pub bytes_out: u64,
    /// IP packets received.
    pub packets_in: u64,
    /// IP packets sent.
    pub packets_out: u64,
    /// Packets dropped as malformed, truncated or out of place.
    pub dropped_malformed: u64,
    /// Packets dropped because authentication failed (HMAC, tag, tls-auth).
    pub dropped_auth: u64,
    /// Packets dropped as replays.
    pub dropped_replay: u64,
    /// Data channel keys negotiated (1 + renegotiations).
    pub keys_negotiated: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Up,
    Closing(Instant),
    Closed,
}

#[derive(Debug, Clone, Copy)]
struct Negotiated {
    suite: Suite,
    tls_ekm: bool,
    /// The peer id to put in `P_DATA_V2` headers; `None`: send `P_DATA_V1`.
    send_peer_id: Option<u32>,
}

/// One OpenVPN session.
pub struct Tunnel {
    cfg: Arc<SessionConfig>,
    authenticator: Option<Arc<dyn Authenticator>>,
    peer: String,
    local_sid: SessionId,
    remote_sid: Option<SessionId>,
    wrapper: Wrapper,
    keys: Vec<KeyState>,
    next_key_id: u8,
    phase: Phase,
    neg: Option<Negotiated>,
    peer_id: u32,
    peer_info: PeerInfo,
    account: Option<Account>,
    /// Serial of the certificate the peer logged in with (server side).
    peer_serial: Option<String>,
    push_reply: Option<String>,
    push_parts: Option<PushReply>,
    push_asked: Option<Instant>,
    established: Option<Established>,
    last_recv: Instant,
    last_send: Instant,
    /// Keepalive interval: the config's, or what the server pushed.
    ping: Duration,
    /// Silence that ends the tunnel: the config's, or what the server pushed.
    ping_restart: Duration,
    created: Instant,
    up_since: Option<Instant>,
    stats: Stats,
    actions: VecDeque<Action>,
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("peer", &self.peer)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl Tunnel {
    /// A client tunnel: queues the `P_CONTROL_HARD_RESET_CLIENT_V2`. `peer` names the
    /// server in logs.
    pub fn client(cfg: Arc<SessionConfig>, peer: &str, now: Instant) -> Result<Tunnel, String> {
        let mut t = Tunnel::new(cfg, None, peer, now, 0)?;
        let key = t.new_key(0, now)?;
        t.keys.push(key);
        if let Some(k) = t.keys.last_mut() {
            k.rel.send(Opcode::HardResetClientV2, Vec::new());
        }
        t.flush(now);
        Ok(t)
    }

    /// A server tunnel for a client whose first packet (already unwrapped to its plain
    /// form) is `first`. `peer_id` is this client's id among the server's tunnels.
    pub fn server(
        cfg: Arc<SessionConfig>,
        authenticator: Arc<dyn Authenticator>,
        peer: &str,
        peer_id: u32,
        first_wire: &[u8],
        now: Instant,
    ) -> Result<Tunnel, String> {
        let mut t = Tunnel::new(cfg, Some(authenticator), peer, now, peer_id)?;
        let plain = t
            .wrapper
            .unwrap(first_wire)
            .map_err(|e| format!("first packet from {peer} refused: {e}"))?;
        let repr =
            ControlRepr::decode(&plain).map_err(|e| format!("first packet from {peer}: {e}"))?;
        if !matches!(
            repr.header.opcode,
            Opcode::HardResetClientV2 | Opcode::HardResetClientV3
        ) || repr.header.key_id != 0
        {
            return Err(format!(
                "first packet from {peer} is {} (key {}), not a client reset",
                repr.header.opcode.name(),
                repr.header.key_id
            ));
        }
        t.remote_sid = Some(repr.session_id);
        let mut key = t.new_key(0, now)?;
        if let Some(first) = repr.packet_id {
            key.rel.expect_first(first);
        }
        key.rel.send(Opcode::HardResetServerV2, Vec::new());
        t.keys.push(key);
        t.on_control(now, &repr);
        t.flush(now);
        Ok(t)
    }

    fn new(
        cfg: Arc<SessionConfig>,
        authenticator: Option<Arc<dyn Authenticator>>,
        peer: &str,
        now: Instant,
        peer_id: u32,
    ) -> Result<Tunnel, String> {
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as u32);
        let (ping, ping_restart) = (cfg.ping, cfg.ping_restart);
        Ok(Tunnel {
            wrapper: Wrapper::new(cfg.wrap.clone(), time),
            cfg,
            authenticator,
            peer: peer.to_string(),
            local_sid: SessionId::random(),
            remote_sid: None,
            keys: Vec::new(),
            next_key_id: 1,
            phase: Phase::Handshake,
            neg: None,
            peer_id: peer_id & PEER_ID_UNDEF,
            peer_info: PeerInfo::default(),
            peer_serial: None,
            account: None,
            push_reply: None,
            push_parts: None,
            push_asked: None,
            established: None,
            last_recv: now,
            ping,
            ping_restart,
            last_send: now,
            created: now,
            up_since: None,
            stats: Stats::default(),
            actions: VecDeque::new(),
        })
    }

    fn new_key(&self, id: u8, now: Instant) -> Result<KeyState, String> {
        KeyState::new(id, &self.cfg.tls, self.cfg.server, now).map_err(|e| e.to_string())
    }

    /// The next action to carry out.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Whether the account this server tunnel logged in to is still what the accounts
    /// say (always true for a client, or without an account).
    pub fn account_still_current(&self) -> bool {
        match (&self.authenticator, &self.account) {
            (Some(auth), Some(account)) => auth.still_current(account),
            _ => true,
        }
    }
    /// Who the peer is, for logs.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// What came up, once up.
    pub fn established(&self) -> Option<&Established> {
        self.established.as_ref()
    }

    /// When the tunnel came up.
    pub fn up_since(&self) -> Option<Instant> {
        self.up_since
    }

    /// When the engine was created.
    pub fn created(&self) -> Instant {
        self.created
    }

    /// True once closed (a `Down` was emitted).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// True while the data channel is up.
    pub fn is_up(&self) -> bool {
        self.phase == Phase::Up
    }

    /// The peer id this server gave the client.
    pub fn peer_id(&self) -> u32 {
        self.peer_id
    }

    /// The key id data is sent with now.
    pub fn current_key_id(&self) -> Option<u8> {
        self.sending_key().map(|i| self.keys[i].id)
    }

    /// Handles one packet from the peer.
    pub fn handle_packet(&mut self, now: Instant, wire: &[u8]) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        let Ok(header) = Header::parse(wire) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        if header.opcode.is_data() {
            self.on_data(now, wire);
        } else {
            let plain = match self.wrapper.unwrap(wire) {
                Ok(p) => p,
                Err(crate::codec::CodecError::Replay) => {
                    self.stats.dropped_replay += 1;
                    return;
                }
                Err(crate::codec::CodecError::BadAuth) => {
                    self.stats.dropped_auth += 1;
                    return;
                }
                Err(_) => {
                    self.stats.dropped_malformed += 1;
                    return;
                }
            };
            match ControlRepr::decode(&plain) {
                Ok(repr) => self.on_control(now, &repr),
                Err(_) => self.stats.dropped_malformed += 1,
            }
        }
        self.flush(now);
    }

    /// Encrypts an IP packet from the tunnel interface for the peer.
    pub fn send_ip(&mut self, now: Instant, packet: &[u8]) {
        if self.phase != Phase::Up {
            return;
        }
        if self.send_data(now, packet) {
            self.stats.bytes_out += packet.len() as u64;
            self.stats.packets_out += 1;
        }
    }

    /// Timers: retransmissions, keepalive, handshake and push timeouts, key
    /// retirement, renegotiation.
    pub fn tick(&mut self, now: Instant) {
        match self.phase {
            Phase::Closed => return,
            Phase::Closing(until) => {
                let idle = self.keys.iter().all(|k| k.rel.is_idle());
                if now >= until || idle {
                    self.phase = Phase::Closed;
                }
                self.flush(now);
                return;
            }
            _ => {}
        }
        let silent = now.saturating_duration_since(self.last_recv);
        if silent >= self.ping_restart {
            self.close(
                now,
                format!(
                    "no packet from {} for {} s (keepalive timeout)",
                    self.peer,
                    silent.as_secs()
                ),
                false,
            );
            return;
        }
        // handshake deadlines
        let window = self.cfg.handshake_window;
        let mut expired = Vec::new();
        for k in &self.keys {
            if !k.is_done() && now.saturating_duration_since(k.created) >= window {
                expired.push(k.id);
            }
        }
        for id in expired {
            if id == 0 || self.phase != Phase::Up {
                self.close(
                    now,
                    format!(
                        "TLS handshake with {} did not finish within {} s",
                        self.peer,
                        window.as_secs()
                    ),
                    false,
                );
                return;
            }
            warn!("{}: renegotiation of key {id} timed out", self.peer);
            self.keys.retain(|k| k.id != id);
        }
        // retired keys
        self.keys.retain(|k| k.retire_at.is_none_or(|t| now < t));
        // client: ask again for the push reply
        if !self.cfg.server
            && self.phase == Phase::Handshake
            && self
                .push_asked
                .is_some_and(|t| now.saturating_duration_since(t) >= PUSH_RETRY)
        {
            self.request_push(now);
        }
        // keepalive
        if self.phase == Phase::Up && now.saturating_duration_since(self.last_send) >= self.ping {
            self.send_data(now, &crate::codec::PING_MAGIC);
        }
        // renegotiation
        if self.phase == Phase::Up {
            if let Some(reneg) = self.cfg.reneg {
                let newest_done = self.keys.iter().all(|k| k.is_done());
                let age = self
                    .keys
                    .iter()
                    .map(|k| now.saturating_duration_since(k.created))
                    .min()
                    .unwrap_or_default();
                if newest_done && age >= reneg {
                    self.start_renegotiation(now);
                }
            }
        }
        self.flush(now);
    }

    /// Closes the tunnel: tells the peer on UDP (exit notify), then reports `Down`.
    pub fn shutdown(&mut self, now: Instant, reason: &str) {
        self.close(now, reason.to_string(), true);
        self.flush(now);
    }

    // ----- control channel -----

    fn on_control(&mut self, now: Instant, repr: &ControlRepr<'_>) {
        let op = repr.header.opcode;
        let key_id = repr.header.key_id;
        match self.remote_sid {
            None => {
                if self.cfg.server || op != Opcode::HardResetServerV2 || key_id != 0 {
                    self.stats.dropped_malformed += 1;
                    return;
                }
                self.remote_sid = Some(repr.session_id);
            }
            Some(sid) if sid != repr.session_id => {
                debug!("{}: packet of another session dropped", self.peer);
                self.stats.dropped_malformed += 1;
                return;
            }
            Some(_) => {}
        }
        if !repr.acks.is_empty() && repr.remote_session_id != Some(self.local_sid) {
            self.stats.dropped_malformed += 1;
            return;
        }
        if matches!(op, Opcode::HardResetClientV1 | Opcode::HardResetServerV1) {
            self.stats.dropped_malformed += 1;
            return;
        }
        let idx = match self.keys.iter().position(|k| k.id == key_id) {
            Some(i)
                if op == Opcode::SoftResetV1
                    && repr.packet_id == Some(0)
                    && self.keys[i].is_done()
                    && self.keys[i].got_reset
                    && self.keys[i].created < now =>
            {
                // a key id reused after wrapping: a new renegotiation
                self.keys.remove(i);
                match self.accept_renegotiation(now, key_id) {
                    Some(i) => i,
                    None => return,
                }
            }
            Some(i) => i,
            None if op == Opcode::SoftResetV1 && self.phase == Phase::Up => {
                match self.accept_renegotiation(now, key_id) {
                    Some(i) => i,
                    None => return,
                }
            }
            None => {
                self.stats.dropped_malformed += 1;
                return;
            }
        };
        self.last_recv = now;
        let key = &mut self.keys[idx];
        key.rel.on_acks(&repr.acks);
        if let Some(pid) = repr.packet_id {
            key.rel.on_message(pid, op, repr.payload);
        }
        for (op, payload) in key.rel.take_in_order() {
            match op {
                Opcode::ControlV1 => key.tls.feed(&payload),
                o if o.is_reset() => key.got_reset = true,
                _ => {}
            }
        }
        self.drive_key(now, idx);
    }

    fn accept_renegotiation(&mut self, now: Instant, key_id: u8) -> Option<usize> {
        match self.new_key(key_id, now) {
            Ok(mut key) => {
                debug!("{}: peer renegotiates, key {key_id}", self.peer);
                key.rel.send(Opcode::SoftResetV1, Vec::new());
                self.keys.push(key);
                self.next_key_id = next_key_id(key_id);
                Some(self.keys.len() - 1)
            }
            Err(e) => {
                warn!("{}: cannot start key {key_id}: {e}", self.peer);
                None
            }
        }
    }

    fn start_renegotiation(&mut self, now: Instant) {
        let id = self.next_key_id;
        self.next_key_id = next_key_id(id);
        match self.new_key(id, now) {
            Ok(mut key) => {
                debug!("{}: renegotiating, key {id}", self.peer);
                key.rel.send(Opcode::SoftResetV1, Vec::new());
                self.keys.retain(|k| k.id != id);
                self.keys.push(key);
            }
            Err(e) => warn!("{}: cannot start key {id}: {e}", self.peer),
        }
    }

    fn drive_key(&mut self, now: Instant, idx: usize) {
        let server = self.cfg.server;
        {
            let key = &mut self.keys[idx];
            if !server && !key.got_reset {
                return;
            }
            if !server && !key.sent_km {
                let km = self.client_key_method(idx);
                let key = &mut self.keys[idx];
                key.tls.write(&km.emit());
                key.sent_km = true;
            }
        }
        for _ in 0..4 {
            let key = &mut self.keys[idx];
            let was_established = key.tls.is_established();
            let records = match key.tls.process() {
                Ok(r) => r,
                Err(e) => {
                    let id = key.id;
                    let msg = format!("TLS with {} failed: {e}", self.peer);
                    if id == 0 || self.phase != Phase::Up {
                        self.close(now, msg, false);
                    } else {
                        warn!("{msg} (renegotiation of key {id}; the current key stays)");
                        self.keys.remove(idx);
                    }
                    return;
                }
            };
            if !was_established && key.tls.is_established() {
                debug!(
                    "{}: TLS established on key {} ({})",
                    self.peer,
                    key.id,
                    key.tls.describe_connection()
                );
            }
            let out = key.tls.take_outgoing();
            for chunk in out.chunks(MAX_CONTROL_PAYLOAD) {
                key.rel.send(Opcode::ControlV1, chunk.to_vec());
            }
            if records.is_empty() {
                break;
            }
            for rec in records {
                self.on_plaintext(now, idx, &rec);
                if idx >= self.keys.len() || matches!(self.phase, Phase::Closed) {
                    return;
                }
            }
        }
    }

    fn client_key_method(&self, idx: usize) -> KeyMethod2 {
        let key = &self.keys[idx];
        let first = self
            .cfg
            .ciphers
            .first()
            .copied()
            .unwrap_or(CipherKind::Aes256Gcm);
        let auth = self.cfg.auths.first().copied().unwrap_or(AuthDigest::Sha1);
        let options = options::options_string(
            false,
            self.cfg.tcp,
            first.name(),
            (!first.is_aead()).then(|| digest_name(auth)),
            first.key_len() * 8,
            self.cfg.tun_mtu,
        );
        let ciphers: Vec<&str> = self.cfg.ciphers.iter().map(|c| c.name()).collect();
        let peer_info = format!(
            "IV_VER=2.6.0\nIV_PLAT=linux\nIV_TCPNL=1\nIV_PROTO={}\nIV_NCP=2\nIV_CIPHERS={}\nIV_MTU={}\nIV_GUI_VER=kith\n",
            IV_PROTO_DATA_V2 | IV_PROTO_TLS_KEY_EXPORT,
            ciphers.join(":"),
            self.cfg.tun_mtu
        );
        let (username, password) = self.cfg.credentials.clone().unwrap_or_default();
        KeyMethod2 {
            source: key.local_src.clone(),
            options,
            username,
            password: Password(password),
            peer_info,
        }
    }

    fn on_plaintext(&mut self, now: Instant, idx: usize, rec: &[u8]) {
        if self.keys[idx].remote_km.is_none() {
            let km = match KeyMethod2::parse(rec, self.cfg.server) {
                Ok(km) => km,
                Err(e) => {
                    self.close(
                        now,
                        format!("{} sent a bad key-method message: {e}", self.peer),
                        false,
                    );
                    return;
                }
            };
            self.keys[idx].remote_km = Some(km);
            if self.cfg.server {
                self.server_got_key_method(now, idx);
            } else {
                self.client_got_key_method(now, idx);
            }
            return;
        }
        let msgs = options::split_messages(&mut self.keys[idx].text, rec);
        for msg in msgs {
            self.on_message(now, idx, &msg);
            if idx >= self.keys.len() || matches!(self.phase, Phase::Closed) {
                return;
            }
        }
    }

    fn server_got_key_method(&mut self, now: Instant, idx: usize) {
        let key_id = self.keys[idx].id;
        if key_id == 0 {
            let Some(km) = self.keys[idx].remote_km.clone() else {
                return;
            };
            self.peer_info = PeerInfo::parse(&km.peer_info);
            let cn = self.keys[idx].tls.peer_common_name();
            let login = match &self.authenticator {
                Some(a) => a.login(&LoginRequest {
                    username: &km.username,
                    password: &km.password.0,
                    common_name: cn.as_deref(),
                    peer: &self.peer,
                }),
                None => Err("no authenticator".to_string()),
            };
            let account = match login {
                Ok(a) => a,
                Err(reason) => {
                    warn!("login from {} refused: {reason}", self.peer);
                    self.refuse(now, idx, &format!("login refused: {reason}"));
                    return;
                }
            };
            let neg = match self.server_negotiate(&km) {
                Ok(n) => n,
                Err(reason) => {
                    warn!(
                        "login of {} from {} refused: {reason}",
                        account.name, self.peer
                    );
                    self.refuse(now, idx, &reason);
                    return;
                }
            };
            self.neg = Some(neg);
            self.push_reply = Some(self.build_push_reply(&account, neg));
            self.account = Some(account);
            self.peer_serial = self.keys[idx].tls.peer_serial();
        }
        let km = self.server_key_method(idx);
        self.keys[idx].tls.write(&km.emit());
        self.keys[idx].sent_km = true;
        if let Err(e) = self.derive(idx) {
            self.close(
                now,
                format!("keys for {} could not be made: {e}", self.peer),
                false,
            );
            return;
        }
        if key_id == 0 {
            if self.peer_info.proto() & IV_PROTO_REQUEST_PUSH != 0 {
                self.send_push_reply(idx);
            }
            self.come_up(now);
        }
    }

    fn refuse(&mut self, now: Instant, idx: usize, reason: &str) {
        let km = self.server_key_method(idx);
        let key = &mut self.keys[idx];
        key.tls.write(&km.emit());
        key.tls.write(b"AUTH_FAILED\0");
        self.close(now, reason.to_string(), false);
        self.phase = Phase::Closing(now + LINGER);
        // drive TLS once more so the refusal goes out
        let key = &mut self.keys[idx];
        if key.tls.process().is_ok() {
            let out = key.tls.take_outgoing();
            for chunk in out.chunks(MAX_CONTROL_PAYLOAD) {
                key.rel.send(Opcode::ControlV1, chunk.to_vec());
            }
        }
    }

    fn server_key_method(&self, idx: usize) -> KeyMethod2 {
        let key = &self.keys[idx];
        let (cipher, auth) = match self.neg {
            Some(n) => (n.suite.cipher, n.suite.auth),
            None => (
                self.cfg
                    .ciphers
                    .first()
                    .copied()
                    .unwrap_or(CipherKind::Aes256Gcm),
                self.cfg.auths.first().copied().unwrap_or(AuthDigest::Sha1),
            ),
        };
        KeyMethod2 {
            source: key.local_src.clone(),
            options: options::options_string(
                true,
                self.cfg.tcp,
                cipher.name(),
                (!cipher.is_aead()).then(|| digest_name(auth)),
                cipher.key_len() * 8,
                self.cfg.tun_mtu,
            ),
            username: String::new(),
            password: Password::default(),
            peer_info: String::new(),
        }
    }

    /// The server picks the cipher: the first of its own list that the client offers
    /// in IV_CIPHERS; for a client that does not negotiate (MikroTik, old OpenVPN), the
    /// cipher of the client's options string when allowed.
    fn server_negotiate(&self, km: &KeyMethod2) -> Result<Negotiated, String> {
        let offered = self.peer_info.ciphers();
        let their_cipher =
            options::option_value(&km.options, "cipher").and_then(CipherKind::from_name);
        let cipher = if offered.is_empty() {
            their_cipher.filter(|c| self.cfg.ciphers.contains(c))
        } else {
            self.cfg
                .ciphers
                .iter()
                .copied()
                .find(|c| offered.iter().any(|o| o == c.name()))
        };
        let Some(cipher) = cipher else {
            let theirs = if offered.is_empty() {
                their_cipher.map_or("none".to_string(), |c| c.name().to_string())
            } else {
                offered.join(":")
            };
            let ours: Vec<&str> = self.cfg.ciphers.iter().map(|c| c.name()).collect();
            return Err(format!(
                "no common cipher (client offers {theirs}, server allows {})",
                ours.join(":")
            ));
        };
        let their_auth = options::option_value(&km.options, "auth").and_then(|a| {
            [AuthDigest::Sha1, AuthDigest::Sha256, AuthDigest::Sha512]
                .into_iter()
                .find(|d| digest_name(*d).eq_ignore_ascii_case(a))
        });
        let auth = their_auth
            .filter(|a| self.cfg.auths.contains(a))
            .or(self.cfg.auths.first().copied())
            .unwrap_or(AuthDigest::Sha1);
        let proto = self.peer_info.proto();
        Ok(Negotiated {
            suite: Suite { cipher, auth },
            tls_ekm: proto & IV_PROTO_TLS_KEY_EXPORT != 0,
            send_peer_id: (proto & IV_PROTO_DATA_V2 != 0).then_some(self.peer_id),
        })
    }

    fn build_push_reply(&self, account: &Account, neg: Negotiated) -> String {
        let negotiates = !self.peer_info.ciphers().is_empty()
            || self.peer_info.get("IV_NCP").is_some_and(|v| v >= "2");
        let ping = self.cfg.ping.as_secs().max(1) as u32;
        let reply = PushReply {
            topology: Some("p2p".into()),
            ifconfig: Some((account.remote, account.local)),
            routes: account.routes.clone(),
            peer_id: neg.send_peer_id,
            cipher: negotiates.then(|| neg.suite.cipher.name().to_string()),
            tls_ekm: neg.tls_ekm,
            ping: Some(ping),
            ping_restart: Some(self.cfg.ping_restart.as_secs().max(1) as u32),
            tun_mtu: None,
        };
        reply.to_message()
    }

    fn send_push_reply(&mut self, idx: usize) {
        if let Some(reply) = &self.push_reply {
            let mut msg = reply.clone().into_bytes();
            msg.push(0);
            self.keys[idx].tls.write(&msg);
        }
    }

    fn client_got_key_method(&mut self, now: Instant, idx: usize) {
        if self.keys[idx].id == 0 {
            self.request_push(now);
            return;
        }
        if let Err(e) = self.derive(idx) {
            warn!("{}: renegotiated keys could not be made: {e}", self.peer);
            self.keys.remove(idx);
        }
    }

    fn request_push(&mut self, now: Instant) {
        let Some(idx) = self.keys.iter().position(|k| k.id == 0) else {
            return;
        };
        let key = &mut self.keys[idx];
        key.tls.write(b"PUSH_REQUEST\0");
        self.push_asked = Some(now);
        if key.tls.process().is_ok() {
            let out = key.tls.take_outgoing();
            for chunk in out.chunks(MAX_CONTROL_PAYLOAD) {
                key.rel.send(Opcode::ControlV1, chunk.to_vec());
            }
        }
    }

    fn on_message(&mut self, now: Instant, idx: usize, msg: &str) {
        if self.cfg.server {
            if msg == options::PUSH_REQUEST {
                if self.phase == Phase::Up || self.push_reply.is_some() {
                    self.send_push_reply(idx);
                }
            } else if msg == options::EXIT || msg.starts_with("EXIT,") {
                self.close(
                    now,
                    format!("{} closed the tunnel (exit notify)", self.peer),
                    false,
                );
            } else {
                debug!("{}: control message ignored: {msg}", self.peer);
            }
            return;
        }
        if msg.starts_with("PUSH_REPLY") {
            if self.phase != Phase::Handshake {
                return;
            }
            let Some((part, more)) = PushReply::parse(msg) else {
                return;
            };
            let mut all = self.push_parts.take().unwrap_or_default();
            all.merge(part);
            if more {
                self.push_parts = Some(all);
                return;
            }
            self.client_got_push(now, idx, all);
        } else if msg.starts_with(options::AUTH_FAILED) {
            self.close(
                now,
                format!("{} refused the login ({msg})", self.peer),
                false,
            );
        } else if msg == options::EXIT || msg.starts_with("RESTART") || msg.starts_with("HALT") {
            self.close(
                now,
                format!("{} closed the tunnel ({msg})", self.peer),
                false,
            );
        } else {
            debug!("{}: control message ignored: {msg}", self.peer);
        }
    }

    fn client_got_push(&mut self, now: Instant, idx: usize, push: PushReply) {
        // The server's keepalive wins (as `pull` does in openvpn): its timeout is what
        // it enforces on us.
        if let Some(p) = push.ping.filter(|p| *p > 0) {
            self.ping = Duration::from_secs(u64::from(p));
        }
        if let Some(r) = push.ping_restart.filter(|r| *r > 0) {
            self.ping_restart = Duration::from_secs(u64::from(r));
        }
        let server_options = self.keys[idx]
            .remote_km
            .as_ref()
            .map(|k| k.options.clone())
            .unwrap_or_default();
        let cipher = match &push.cipher {
            Some(name) => {
                match CipherKind::from_name(name).filter(|c| self.cfg.ciphers.contains(c)) {
                    Some(c) => c,
                    None => {
                        self.close(
                            now,
                            format!(
                                "{} pushed cipher {name}, which this client does not allow",
                                self.peer
                            ),
                            false,
                        );
                        return;
                    }
                }
            }
            None => options::option_value(&server_options, "cipher")
                .and_then(CipherKind::from_name)
                .filter(|c| self.cfg.ciphers.contains(c))
                .or(self.cfg.ciphers.first().copied())
                .unwrap_or(CipherKind::Aes256Gcm),
        };
        let auth = options::option_value(&server_options, "auth")
            .and_then(|a| {
                self.cfg
                    .auths
                    .iter()
                    .copied()
                    .find(|d| digest_name(*d).eq_ignore_ascii_case(a))
            })
            .or(self.cfg.auths.first().copied())
            .unwrap_or(AuthDigest::Sha1);
        self.neg = Some(Negotiated {
            suite: Suite { cipher, auth },
            tls_ekm: push.tls_ekm,
            send_peer_id: push.peer_id,
        });
        if let Err(e) = self.derive(idx) {
            self.close(
                now,
                format!("keys for {} could not be made: {e}", self.peer),
                false,
            );
            return;
        }
        let (local, remote) = match push.ifconfig {
            Some((l, r)) => (Some(l), Some(r)),
            None => (None, None),
        };
        self.established = Some(Established {
            account: None,
            local,
            remote,
            routes: push.routes.clone(),
            suite: Suite { cipher, auth },
            tls_ekm: push.tls_ekm,
            mtu: push.tun_mtu,
            peer_version: None,
            peer_serial: None,
        });
        self.come_up(now);
    }

    fn come_up(&mut self, now: Instant) {
        if self.phase != Phase::Handshake {
            return;
        }
        if self.cfg.server {
            let Some(neg) = self.neg else { return };
            let account = self.account.clone();
            self.established = Some(Established {
                local: account.as_ref().map(|a| a.local),
                remote: account.as_ref().map(|a| a.remote),
                routes: Vec::new(),
                mtu: account.as_ref().map(|a| a.mtu),
                account,
                suite: neg.suite,
                tls_ekm: neg.tls_ekm,
                peer_version: self.peer_info.version().map(str::to_string),
                peer_serial: self.peer_serial.clone(),
            });
        }
        let Some(est) = self.established.clone() else {
            return;
        };
        self.phase = Phase::Up;
        self.up_since = Some(now);
        self.last_recv = now;
        info!(
            "tunnel with {} up: {}{}",
            self.peer,
            est.suite,
            if est.tls_ekm {
                ", keys from TLS exporter"
            } else {
                ""
            }
        );
        self.actions.push_back(Action::Up(est));
    }

    fn derive(&mut self, idx: usize) -> Result<(), CryptoError> {
        let Some(neg) = self.neg else {
            return Err(CryptoError::Openssl("cipher not negotiated".into()));
        };
        let server = self.cfg.server;
        let local_sid = self.local_sid;
        let remote_sid = self.remote_sid.unwrap_or_default();
        let key = &mut self.keys[idx];
        let material = if neg.tls_ekm {
            let mut b = [0u8; 256];
            key.tls
                .export(EKM_LABEL, &mut b)
                .map_err(|e| CryptoError::Openssl(e.to_string()))?;
            crate::codec::static_key::Key2::from_bytes(&b)
        } else {
            let remote = key.remote_km.as_ref().ok_or(CryptoError::Short)?;
            if server {
                expand_prf(&remote.source, &key.local_src, remote_sid, local_sid)?
            } else {
                expand_prf(&key.local_src, &remote.source, local_sid, remote_sid)?
            }
        };
        key.data = Some(DataKey::new(neg.suite, &material, server)?);
        self.stats.keys_negotiated += 1;
        Ok(())
    }

    // ----- data channel -----

    /// The key to encrypt with: the newest one the peer is known to have; while a
    /// renegotiated key is not confirmed yet, the older key keeps sending.
    fn sending_key(&self) -> Option<usize> {
        let newest_ready = self
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.can_send())
            .max_by_key(|(_, k)| k.created)
            .map(|(i, _)| i);
        newest_ready.or_else(|| {
            self.keys
                .iter()
                .enumerate()
                .filter(|(_, k)| k.data.is_some())
                .min_by_key(|(_, k)| k.created)
                .map(|(i, _)| i)
        })
    }

    fn send_data(&mut self, now: Instant, payload: &[u8]) -> bool {
        let Some(idx) = self.sending_key() else {
            return false;
        };
        self.retire_older(now, idx);
        let send_peer_id = self.neg.and_then(|n| n.send_peer_id);
        let key = &mut self.keys[idx];
        let header = DataHeader {
            key_id: key.id,
            peer_id: send_peer_id,
        };
        let mut h = Vec::with_capacity(4);
        header.emit(&mut h);
        let Some(data) = key.data.as_mut() else {
            return false;
        };
        match data.encrypt(&h, payload) {
            Ok(p) => {
                self.last_send = now;
                self.actions.push_back(Action::Send(p));
                true
            }
            Err(e) => {
                debug!("{}: encrypt failed: {e}", self.peer);
                false
            }
        }
    }

    /// Once a newer key sends, older ones only decrypt until the transition window ends.
    fn retire_older(&mut self, now: Instant, idx: usize) {
        let created = self.keys[idx].created;
        let until = now + self.cfg.transition_window;
        for k in &mut self.keys {
            if k.created < created && k.retire_at.is_none() && k.is_done() {
                k.retire_at = Some(until);
            }
        }
    }

    fn on_data(&mut self, now: Instant, wire: &[u8]) {
        let Ok((header, hlen)) = DataHeader::parse(wire) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        let Some(key) = self
            .keys
            .iter_mut()
            .find(|k| k.id == header.key_id && k.data.is_some())
        else {
            self.stats.dropped_malformed += 1;
            return;
        };
        let Some(data) = key.data.as_mut() else {
            return;
        };
        let payload = match data.decrypt(wire, hlen) {
            Ok(p) => p,
            Err(CryptoError::Replay) => {
                self.stats.dropped_replay += 1;
                return;
            }
            Err(CryptoError::Short) => {
                self.stats.dropped_malformed += 1;
                return;
            }
            Err(_) => {
                self.stats.dropped_auth += 1;
                return;
            }
        };
        key.peer_uses = true;
        self.last_recv = now;
        if is_ping(&payload) {
            return;
        }
        if is_exit_notify(&payload) {
            self.close(
                now,
                format!("{} closed the tunnel (exit notify)", self.peer),
                false,
            );
            return;
        }
        if self.phase != Phase::Up || payload.is_empty() {
            return;
        }
        self.stats.bytes_in += payload.len() as u64;
        self.stats.packets_in += 1;
        self.actions.push_back(Action::Deliver(payload));
    }

    // ----- output -----

    fn close(&mut self, now: Instant, reason: String, notify: bool) {
        if matches!(self.phase, Phase::Closed | Phase::Closing(_)) {
            return;
        }
        if notify && !self.cfg.tcp && self.phase == Phase::Up {
            self.send_data(now, &exit_notify_payload());
        }
        self.phase = Phase::Closed;
        self.actions.push_back(Action::Down(reason));
    }

    /// Puts due control packets and pending ACKs on the wire.
    fn flush(&mut self, now: Instant) {
        let Some(remote) = self.remote_sid.or(if self.cfg.server {
            None
        } else {
            Some(SessionId::default())
        }) else {
            return;
        };
        let mut out = Vec::new();
        for key in &mut self.keys {
            for t in key.rel.poll_transmit(now) {
                let acks = key.rel.take_acks();
                let repr = ControlRepr {
                    header: Header {
                        opcode: t.opcode,
                        key_id: key.id,
                    },
                    session_id: self.local_sid,
                    remote_session_id: (!acks.is_empty()).then_some(remote),
                    acks,
                    packet_id: Some(t.id),
                    payload: &t.payload,
                };
                out.push(repr.to_vec());
            }
            while key.rel.has_acks() {
                let acks: AckList = key.rel.take_acks();
                let repr = ControlRepr {
                    header: Header {
                        opcode: Opcode::AckV1,
                        key_id: key.id,
                    },
                    session_id: self.local_sid,
                    remote_session_id: Some(remote),
                    acks,
                    packet_id: None,
                    payload: &[],
                };
                out.push(repr.to_vec());
            }
        }
        for plain in out {
            match self.wrapper.wrap(&plain) {
                Ok(wire) => {
                    self.last_send = now;
                    self.actions.push_back(Action::Send(wire));
                }
                Err(e) => debug!("{}: wrap failed: {e}", self.peer),
            }
        }
    }
}

/// Renegotiated keys use ids 1..=7, wrapping to 1.
fn next_key_id(id: u8) -> u8 {
    if id >= 7 { 1 } else { id + 1 }
}
