//! `accept_multishot` (and `net::TcpListener::incoming` on it): connection after connection
//! from one multishot accept, the same as repeated accept4(2).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use common::within;

#[test]
fn multishot_accepts_every_connection_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let got = within(Duration::from_secs(20), "the accepts", move || {
        let mut accepts = uring_os::accept_multishot(&listener, libc::SOCK_CLOEXEC);
        let mut seen = Vec::new();
        for round in 0..3 {
            // Connections that come before and while the accept is in the kernel.
            let clients: Vec<_> = (0..20)
                .map(|i| {
                    let mut c = std::net::TcpStream::connect(addr).unwrap();
                    c.write_all(&[round * 20 + i]).unwrap();
                    c
                })
                .collect();
            for _ in 0..clients.len() {
                let fd = accepts.next().unwrap().unwrap();
                // SAFETY: F_GETFD on the accepted fd.
                let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
                assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
                let mut stream = std::net::TcpStream::from(fd);
                let mut byte = [0u8; 1];
                stream.read_exact(&mut byte).unwrap();
                seen.push(byte[0]);
            }
            drop(clients);
        }
        seen
    });
    let mut got = got;
    got.sort_unstable();
    assert_eq!(got, (0..60).collect::<Vec<u8>>());
}

#[test]
fn dropping_the_iterator_cancels_and_closes_what_it_accepted() {
    let _fds = common::fork::no_forks_meanwhile();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let before = common::fd_count();
    {
        let mut accepts = uring_os::accept_multishot(&listener, libc::SOCK_CLOEXEC);
        let c1 = std::net::TcpStream::connect(addr).unwrap();
        drop(accepts.next().unwrap().unwrap());
        // Accepted by the kernel, never handed out.
        let _c2 = std::net::TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        drop(c1);
    }
    assert!(
        common::fd_count() <= before + 1,
        "only the unaccepted client's fd remains"
    );
    // The listener still works, for accept(2) too.
    let _c3 = std::net::TcpStream::connect(addr).unwrap();
    listener.set_nonblocking(false).unwrap();
    let (_s, _) = listener.accept().unwrap();
}

#[test]
fn a_nonblocking_listener_gives_would_block_like_accept4() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut accepts = uring_os::accept_multishot(&listener, libc::SOCK_CLOEXEC);
    let err = accepts.next().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
}

#[test]
fn net_incoming_serves_connections() {
    let listener = uring_os::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        for i in 0..5u8 {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(&[i]).unwrap();
        }
    });
    let mut got: Vec<u8> = listener
        .incoming()
        .take(5)
        .map(|s| {
            let mut b = [0u8; 1];
            s.unwrap().read_exact(&mut b).unwrap();
            b[0]
        })
        .collect();
    client.join().unwrap();
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2, 3, 4]);
}
