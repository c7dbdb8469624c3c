//! The drop-in proof for `uring_os::net`: each scenario runs through `std::net` (and
//! `std::os::unix::net`) and through `uring_os::net`, with the module swapped by a `use`
//! line, and every result and error is compared: data, addresses, refused, reset and closed
//! connections, timeouts.

#![allow(
    clippy::vec_init_then_push,
    reason = "each scenario lists its results one call per line"
)]

use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

type Outcome<T> = Result<T, (ErrorKind, Option<i32>)>;

fn o<T: std::fmt::Debug>(res: io::Result<T>) -> String {
    let res: Outcome<T> = res.map_err(|e| (e.kind(), e.raw_os_error()));
    format!("{res:?}")
}

/// std's socket types under one path, as `uring_os::net` has them.
mod stdnet {
    pub use std::net::*;
    pub use std::os::unix::net::{UnixListener, UnixStream};
}

/// Runs `$body` with `$net` as std's modules and then as `uring_os::net`, and compares.
macro_rules! same {
    (|$net:ident| $body:expr) => {{
        let a: Vec<String> = {
            #[allow(unused_imports)]
            use stdnet as $net;
            $body
        };
        let b: Vec<String> = {
            #[allow(unused_imports)]
            use uring_os::net as $net;
            $body
        };
        assert_eq!(a, b, "std (left) and uring_os (right) differ");
    }};
}

/// A port nobody listens on: bound, then closed.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn tcp_echo_addresses_options_and_shutdown() {
    same!(|net| {
        let mut out = Vec::new();
        let listener = net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        out.push(o(Ok(addr.ip())));
        out.push(o(listener.set_ttl(42)));
        out.push(o(listener.ttl()));
        let mut client = net::TcpStream::connect(addr).unwrap();
        let (mut server, peer) = listener.accept().unwrap();
        out.push(o(Ok(peer == client.local_addr().unwrap())));
        out.push(o(Ok(client.peer_addr().unwrap() == addr)));
        out.push(o(client.set_nodelay(true)));
        out.push(o(client.nodelay()));
        out.push(o(client.write(b"hello")));
        let mut buf = [0u8; 16];
        out.push(o(server.peek(&mut buf[..2]).map(|n| buf[..n].to_vec())));
        out.push(o(server.read(&mut buf).map(|n| buf[..n].to_vec())));
        out.push(o((&server).write(b"back")));
        out.push(o((&client).read(&mut buf).map(|n| buf[..n].to_vec())));
        let clone = client.try_clone().unwrap();
        out.push(o(clone.shutdown(Shutdown::Write)));
        out.push(o(server.read(&mut buf)));
        out.push(o(client.write(b"after shutdown")));
        out.push(o(client.take_error()));
        out.push(o(server.set_nonblocking(true)));
        out.push(o(server.read(&mut buf)));
        drop(server);
        out.push(o(client.read(&mut buf)));
        out.push(o(
            net::TcpStream::connect(("127.0.0.1", closed_port())).map(drop)
        ));
        out.push(o(net::TcpListener::bind(addr).map(drop)));
        out.push(o(net::TcpStream::connect("no-such-host.invalid:80")
            .map(drop)
            .map_err(|e| io::Error::from(e.kind()))));
        out.push(o(
            net::TcpStream::connect(&[][..] as &[net::SocketAddr]).map(drop)
        ));
        out.push(o(
            net::TcpStream::connect_timeout(&addr, Duration::ZERO).map(drop)
        ));
        let port = closed_port();
        out.push(o(net::TcpStream::connect_timeout(
            &([127, 0, 0, 1], port).into(),
            Duration::from_secs(1),
        )
        .map(drop)));
        out
    });
}

#[test]
fn tcp_reset_and_closed_peers() {
    same!(|net| {
        let mut out = Vec::new();
        let listener = net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener
            .incoming()
            .next()
            .unwrap()
            .map(|s| (s, ()))
            .unwrap();
        // SO_LINGER 0 makes the close send a reset.
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid option value for a socket we own.
        unsafe {
            use std::os::fd::AsRawFd;
            libc::setsockopt(
                server.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                8,
            );
        }
        drop(server);
        std::thread::sleep(Duration::from_millis(20));
        let mut buf = [0u8; 8];
        out.push(o((&client).read(&mut buf)));
        out.push(o((&client).read(&mut buf)));
        out.push(o((&client).write(b"x")));
        // A peer that closes normally: end of file, then EPIPE once the reset arrives.
        let client = net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        drop(listener.accept().unwrap());
        out.push(o((&client).read(&mut buf)));
        out.push(o((&client).write(b"x")));
        std::thread::sleep(Duration::from_millis(20));
        out.push(o((&client).write(b"x")));
        out
    });
}

#[test]
#[allow(
    clippy::useless_conversion,
    reason = "the same body runs with std's types, where the conversion is to the same type"
)]
fn timeouts_give_std_errors_after_the_time() {
    same!(|net| {
        let mut out = Vec::new();
        let listener = net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        out.push(o(client.read_timeout()));
        out.push(o(client.set_read_timeout(Some(Duration::ZERO))));
        out.push(o(client.set_read_timeout(Some(Duration::from_millis(40)))));
        out.push(o(client.read_timeout()));
        let start = Instant::now();
        let mut buf = [0u8; 8];
        out.push(o((&client).read(&mut buf)));
        let waited = start.elapsed();
        out.push(o(Ok(
            waited >= Duration::from_millis(35) && waited < Duration::from_secs(2)
        )));
        // Data that arrives in time is read.
        let writer = server.try_clone().unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            (&writer).write_all(b"late").unwrap();
        });
        out.push(o((&client).read(&mut buf).map(|n| buf[..n].to_vec())));
        t.join().unwrap();
        // The timeout survives a conversion to the std type and back.
        let as_std: std::net::TcpStream = client.into();
        out.push(o(as_std.read_timeout()));
        let client = net::TcpStream::from(as_std);
        out.push(o(client.set_read_timeout(None)));
        out.push(o(client.read_timeout()));
        // Writes into a full buffer time out too.
        out.push(o(client.set_write_timeout(Some(Duration::from_millis(30)))));
        let chunk = vec![0u8; 1 << 16];
        let res = loop {
            match (&client).write(&chunk) {
                Ok(_written) => continue,
                Err(e) => break Err::<(), _>(e),
            }
        };
        out.push(o(res));
        // UDP
        let udp = net::UdpSocket::bind("127.0.0.1:0").unwrap();
        out.push(o(udp.set_read_timeout(Some(Duration::from_millis(30)))));
        out.push(o(udp.recv_from(&mut buf)));
        out.push(o(udp.recv(&mut buf)));
        // Unix
        let (a, _b) = net::UnixStream::pair().unwrap();
        out.push(o(a.set_read_timeout(Some(Duration::from_millis(30)))));
        out.push(o((&a).read(&mut buf)));
        out
    });
}

#[test]
fn udp_datagrams() {
    same!(|net| {
        let mut out = Vec::new();
        let a = net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        out.push(o(a.send_to(b"one", ba)));
        let mut buf = [0u8; 8];
        out.push(o(b
            .peek_from(&mut buf)
            .map(|(n, f)| (buf[..n].to_vec(), f == aa))));
        out.push(o(b
            .recv_from(&mut buf)
            .map(|(n, f)| (buf[..n].to_vec(), f == aa))));
        out.push(o(a.peer_addr()));
        out.push(o(a.connect(ba)));
        out.push(o(a.peer_addr().map(|p| p == ba)));
        out.push(o(a.send(b"two")));
        out.push(o(b.recv(&mut buf).map(|n| buf[..n].to_vec())));
        out.push(o(a.set_broadcast(true)));
        out.push(o(a.broadcast()));
        out.push(o(a.set_ttl(7)));
        out.push(o(a.ttl()));
        out.push(o(b.set_nonblocking(true)));
        out.push(o(b.recv(&mut buf)));
        out.push(o(a.send_to(b"x", &[][..] as &[net::SocketAddr])));
        // A datagram to a closed port: the next receive on the connected socket is refused.
        let c = net::UdpSocket::bind("127.0.0.1:0").unwrap();
        out.push(o(c.connect(("127.0.0.1", closed_port()))));
        out.push(o(c.send(b"x")));
        std::thread::sleep(Duration::from_millis(20));
        out.push(o(c.recv(&mut buf)));
        out.push(o(a.try_clone().map(|s| s.local_addr().unwrap() == aa)));
        out
    });
}

#[test]
fn unix_streams_and_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let mut round = 0;
    same!(|net| {
        round += 1;
        let mut out = Vec::new();
        let path = dir.path().join(format!("sock{round}"));
        let listener = net::UnixListener::bind(&path).unwrap();
        out.push(o(listener
            .local_addr()
            .map(|a| a.as_pathname() == Some(path.as_path()))));
        out.push(o(net::UnixListener::bind(&path).map(drop)));
        let mut client = net::UnixStream::connect(&path).unwrap();
        let (mut server, peer) = listener.accept().unwrap();
        out.push(o(Ok(peer.is_unnamed())));
        out.push(o(client.local_addr().map(|a| a.is_unnamed())));
        out.push(o(client.peer_addr().map(|a| a.as_pathname().is_some())));
        out.push(o(client.write(b"hi")));
        let mut buf = [0u8; 8];
        out.push(o(server.read(&mut buf).map(|n| buf[..n].to_vec())));
        out.push(o(client.shutdown(Shutdown::Write)));
        out.push(o(server.read(&mut buf)));
        drop(server);
        out.push(o(client.read(&mut buf)));
        out.push(o(
            net::UnixStream::connect(dir.path().join("missing")).map(drop)
        ));
        out.push(o(
            net::UnixStream::connect(dir.path().join("a\0b")).map(drop)
        ));
        out.push(o(net::UnixStream::connect(
            dir.path().join("x".repeat(200)),
        )
        .map(drop)));
        let (a, b) = net::UnixStream::pair().unwrap();
        out.push(o((&a).write(b"pair")));
        out.push(o((&b).read(&mut buf).map(|n| buf[..n].to_vec())));
        drop(b);
        out.push(o((&a).write(b"gone")));
        out.push(o(listener.set_nonblocking(true)));
        out.push(o(listener.accept().map(drop)));
        out
    });
}

#[test]
fn conversions_move_the_fd() {
    let listener = uring_os::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let std_listener: std::net::TcpListener = listener.into();
    let addr = std_listener.local_addr().unwrap();
    let owned: std::os::fd::OwnedFd = std_listener.into();
    let listener = uring_os::net::TcpListener::from(owned);
    let client = std::net::TcpStream::connect(addr).unwrap();
    let ours = uring_os::net::TcpStream::from(client);
    let (server, _) = listener.accept().unwrap();
    (&ours).write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    (&server).read_exact(&mut b).unwrap();
    assert_eq!(&b, b"x");
}
