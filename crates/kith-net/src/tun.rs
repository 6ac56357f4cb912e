//! Tun devices through `/dev/net/tun` (`IFF_TUN | IFF_NO_PI`: bare IP packets).
//!
//! The device is created in the network namespace of the calling thread.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use tokio::io::unix::AsyncFd;

use crate::naming::is_valid_kernel_name;
use crate::{NetError, Result};

const TUN_PATH: &str = "/dev/net/tun";
const IFNAMSIZ: usize = libc::IFNAMSIZ;

/// The prefix of `struct ifreq` that `TUNSETIFF` reads (name and flags), padded to the
/// full size of `struct ifreq` so the kernel's `copy_from_user(sizeof(struct ifreq))` and
/// `copy_to_user` stay inside this value. All fields are plain integers: every byte is
/// initialized, no pointer is involved.
#[repr(C)]
struct IfReqFlags {
    name: [libc::c_char; IFNAMSIZ],
    flags: libc::c_short,
    _pad:
        [u8; std::mem::size_of::<libc::ifreq>() - IFNAMSIZ - std::mem::size_of::<libc::c_short>()],
}

const _: () = assert!(std::mem::size_of::<IfReqFlags>() == std::mem::size_of::<libc::ifreq>());

/// Issues `TUNSETIFF` on `fd`: attaches it to (creating if needed) the tun device named
/// in `req`, and lets the kernel write the final name back into `req`.
fn tunsetiff(fd: BorrowedFd<'_>, req: &mut IfReqFlags) -> io::Result<()> {
    // SAFETY: `fd` is an open descriptor borrowed for the duration of the call.
    // `TUNSETIFF` takes a pointer to a `struct ifreq`; `req` is an exclusive borrow of a
    // fully initialized value exactly `sizeof(struct ifreq)` bytes long (checked at
    // compile time above), valid for reads and writes for the whole call, and the kernel
    // neither reads nor writes past `sizeof(struct ifreq)` nor keeps the pointer after
    // the call returns. The request number and argument type come from libc's Linux
    // definitions.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TUNSETIFF,
            std::ptr::from_mut::<IfReqFlags>(req),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Issues `TUNSETPERSIST` on `fd`.
fn tunsetpersist(fd: BorrowedFd<'_>, persist: bool) -> io::Result<()> {
    // SAFETY: `fd` is an open descriptor borrowed for the duration of the call;
    // `TUNSETPERSIST` takes its argument by value (an integer, no memory is passed).
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TUNSETPERSIST,
            libc::c_ulong::from(persist),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// An open tun device: read gets one IP packet sent to the device, write injects one.
///
/// Unless made persistent, the device disappears when this is dropped.
#[derive(Debug)]
pub struct TunDevice {
    file: File,
    name: String,
}

impl TunDevice {
    /// Creates (or attaches to an existing persistent) tun device `name` in the calling
    /// thread's network namespace, non-blocking, with `IFF_TUN | IFF_NO_PI`.
    pub fn create(name: &str, persist: bool) -> Result<TunDevice> {
        let op = format!("create tun {name}");
        if !is_valid_kernel_name(name) {
            return Err(NetError::invalid(
                op,
                format!(
                    "`{name}` is not a valid interface name (1-15 letters, digits, `-`, `_`, `.`)"
                ),
            ));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(TUN_PATH)
            .map_err(|e| NetError::io(format!("{op}: open {TUN_PATH}"), e))?;
        let mut req = IfReqFlags {
            name: [0; IFNAMSIZ],
            // The flag values fit in a c_short (0x0001 | 0x1000).
            flags: (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short,
            _pad: [0; std::mem::size_of::<libc::ifreq>()
                - IFNAMSIZ
                - std::mem::size_of::<libc::c_short>()],
        };
        for (dst, src) in req.name.iter_mut().zip(name.bytes()) {
            *dst = src as libc::c_char;
        }
        tunsetiff(file.as_fd(), &mut req).map_err(|e| NetError::io(&op, e))?;
        let actual: Vec<u8> = req
            .name
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        let device = TunDevice {
            file,
            name: String::from_utf8_lossy(&actual).into_owned(),
        };
        if persist {
            device.set_persist(true)?;
        }
        Ok(device)
    }

    /// The device's kernel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes the device outlive this descriptor (or not). A persistent device is removed
    /// with [`crate::Net::delete_link`].
    pub fn set_persist(&self, persist: bool) -> Result<()> {
        tunsetpersist(self.file.as_fd(), persist).map_err(|e| {
            NetError::io(
                format!(
                    "make tun {} {}persistent",
                    self.name,
                    if persist { "" } else { "non-" }
                ),
                e,
            )
        })
    }

    /// Wraps the descriptor for tokio (must be called inside a tokio runtime).
    pub fn into_async(self) -> Result<AsyncTun> {
        let name = self.name;
        let op = format!("register tun {name} with the tokio reactor");
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(NetError::Protocol {
                op,
                reason: "into_async must be called from inside a tokio runtime".into(),
            });
        }
        // SAFETY: `self.file` owns an open descriptor (opened in `create`), and
        // `File::as_raw_fd` always returns that same descriptor. The `AsyncFd` takes the
        // `File` by value and `AsyncTun` keeps it private, only lending `&File` for
        // read/write, so the descriptor is neither closed nor replaced while registered.
        let fd = unsafe { AsyncFd::register(self.file) }.map_err(|e| {
            let (_file, e) = e.into_parts();
            NetError::io(op, e)
        })?;
        Ok(AsyncTun { fd, name })
    }
}

impl AsFd for TunDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl AsRawFd for TunDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

impl From<TunDevice> for OwnedFd {
    fn from(device: TunDevice) -> OwnedFd {
        device.file.into()
    }
}

/// A tun device registered with tokio: `recv` and `send` whole IP packets.
#[derive(Debug)]
pub struct AsyncTun {
    fd: AsyncFd<File>,
    name: String,
}

impl AsyncTun {
    /// The device's kernel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Receives one IP packet sent to the device; returns its length. `buf` should hold
    /// the MTU (a longer packet is truncated).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|inner| inner.get_ref().read(buf)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Receives one IP packet if one is waiting, without waiting: `WouldBlock` when
    /// none is (then [`recv`](Self::recv) waits for the next). Drains what one
    /// wake-up found, a packet per call.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd
            .try_io(tokio::io::Interest::READABLE, |mut file| file.read(buf))
    }

    /// Injects one IP packet, as if it arrived on the device.
    pub async fn send(&self, packet: &[u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|inner| inner.get_ref().write(packet)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsFd for AsyncTun {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

impl AsRawFd for AsyncTun {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn invalid_names_are_refused_before_any_syscall() {
        for bad in ["", "a-name-longer-than-15", "a b", "x/y"] {
            let e = TunDevice::create(bad, false).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("cannot create tun {bad}: ")),
                "{e}"
            );
        }
    }
}
