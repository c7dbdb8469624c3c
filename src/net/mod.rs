//! `std::net` and `std::os::unix::net`, swapped in by changing one `use` line: the same
//! names, signatures, results and errors, never slower than std.
//!
//! ```
//! use std::io::{Read, Write};
//! use uring_os::net::{TcpListener, TcpStream}; // was: use std::net::{TcpListener, TcpStream};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let server = std::thread::spawn(move || -> std::io::Result<()> {
//!     let (mut stream, _) = listener.accept()?;
//!     let mut buf = [0; 5];
//!     stream.read_exact(&mut buf)?;
//!     stream.write_all(&buf)
//! });
//! let mut client = TcpStream::connect(addr)?;
//! client.write_all(b"hello")?;
//! let mut echo = [0; 5];
//! client.read_exact(&mut echo)?;
//! assert_eq!(&echo, b"hello");
//! server.join().unwrap()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Which path each call takes
//!
//! Sockets are made, bound, connected, accepted, read and written with direct syscalls
//! through the crate's seam ([`crate::sys::syscall`]), the calls std makes: a blocking call
//! waits in the kernel either way, and through a ring it would pay a round trip on top. The
//! ring serves what the syscall cannot do as well: waiting with a timeout.
//! [`TcpStream::connect_timeout`] is one connect with a linked timeout, instead of std's
//! non-blocking connect, poll and flag changes; a read or write timeout set with
//! `set_read_timeout`/`set_write_timeout` makes a read that would wait go through the ring
//! with a linked timeout (its expiry is std's `WouldBlock`). The socket options are set as
//! well, so the timeouts hold after a conversion to the std type.
//!
//! Every type converts to and from its std twin and `OwnedFd` without a syscall, and closes
//! its fd through the seam when dropped.

mod socket;
mod tcp;
mod udp;
mod unix;

pub use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs,
};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};
