//! The state of one key id: its reliability layer, its TLS session, the key-method 2
//! exchange and, once both sides' key material is known, its data channel key.

use std::time::Instant;

use openssl::ssl::SslContext;

use super::tls::{TlsError, TlsSession};
use crate::codec::keymethod::{KeyMethod2, KeySource};
use crate::crypto::DataKey;
use crate::fsm::reliable::Reliable;

/// One key id.
#[derive(Debug)]
pub(crate) struct KeyState {
    /// 0 for the first key, 1..=7 for renegotiations.
    pub id: u8,
    pub rel: Reliable,
    pub tls: TlsSession,
    /// The peer's reset (hard or soft) for this key arrived.
    pub got_reset: bool,
    /// Our key source.
    pub local_src: KeySource,
    /// Our key-method 2 message went into TLS.
    pub sent_km: bool,
    /// The peer's key-method 2 message.
    pub remote_km: Option<KeyMethod2>,
    /// Control channel text not yet terminated by a NUL.
    pub text: Vec<u8>,
    /// Data channel key, once derived.
    pub data: Option<DataKey>,
    /// A data packet arrived with this key (the peer has it).
    pub peer_uses: bool,
    pub created: Instant,
    /// Set when a newer key took over: this one only decrypts until then.
    pub retire_at: Option<Instant>,
}

impl KeyState {
    pub fn new(id: u8, ctx: &SslContext, server: bool, now: Instant) -> Result<KeyState, TlsError> {
        Ok(KeyState {
            id,
            rel: Reliable::new(),
            tls: TlsSession::new(ctx, server)?,
            got_reset: false,
            local_src: KeySource::random(!server),
            sent_km: false,
            remote_km: None,
            text: Vec::new(),
            data: None,
            peer_uses: false,
            created: now,
            retire_at: None,
        })
    }

    /// True once data can be sent with this key without the peer dropping it: keys
    /// derived, and our last control message acknowledged (so the peer has derived its
    /// keys too) or the peer already sends with it.
    pub fn can_send(&self) -> bool {
        self.data.is_some() && self.retire_at.is_none() && (self.peer_uses || self.rel.is_idle())
    }

    /// True when the handshake of this key is complete.
    pub fn is_done(&self) -> bool {
        self.data.is_some()
    }
}
