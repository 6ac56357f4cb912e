//! Replay protection: a sliding window over packet ids (64 wide, openvpn's default
//! `replay-window`). Packet id 0 is never valid.

/// Width of the window.
pub const WINDOW: u32 = 64;

/// Which packet ids have been seen.
#[derive(Debug, Clone, Default)]
pub struct ReplayWindow {
    highest: u32,
    seen: u64,
}

impl ReplayWindow {
    /// An empty window.
    pub fn new() -> ReplayWindow {
        ReplayWindow::default()
    }

    /// True when `id` is new: not seen, and not older than the window.
    pub fn check(&self, id: u32) -> bool {
        if id == 0 {
            return false;
        }
        if id > self.highest {
            return true;
        }
        let back = self.highest - id;
        back < WINDOW && self.seen & (1u64 << back) == 0
    }

    /// Records `id` as seen (call after the packet was authenticated).
    pub fn update(&mut self, id: u32) {
        if id > self.highest {
            let shift = id - self.highest;
            self.seen = if shift >= WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.highest = id;
        } else {
            let back = self.highest - id;
            if back < WINDOW {
                self.seen |= 1u64 << back;
            }
        }
    }

    /// `check`, then `update` when new.
    pub fn accept(&mut self, id: u32) -> bool {
        let ok = self.check(id);
        if ok {
            self.update(id);
        }
        ok
    }

    /// The highest id seen.
    pub fn highest(&self) -> u32 {
        self.highest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_out_of_order_replay_and_too_old() {
        let mut w = ReplayWindow::new();
        assert!(!w.accept(0));
        assert!(w.accept(1));
        assert!(w.accept(3));
        assert!(w.accept(2));
        assert!(!w.accept(2));
        assert!(!w.accept(3));
        assert!(w.accept(100));
        assert!(!w.accept(36));
        assert!(w.accept(37));
        assert!(!w.accept(37));
        assert!(w.accept(u32::MAX));
        assert!(!w.accept(u32::MAX));
    }
}
