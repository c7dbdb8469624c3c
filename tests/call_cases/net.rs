//! Cases of the socket calls: socket, bind, listen, accept, connect, send, recv, shutdown.

use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};

use super::fixtures::*;
use super::sockaddr::getsockname;
use super::{Api, Case, Libc};
use crate::common::{listener, sys, tcp_pair};

pub fn sockets() -> Vec<Case> {
    use libc::{AF_INET, AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM};
    vec![
        case!("socket AF_INET stream", OK, |a, _| {
            a.socket(AF_INET, SOCK_STREAM, 0)
        }),
        case!("socket with SOCK_NONBLOCK | SOCK_CLOEXEC", OK, |a, _| {
            a.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
        }),
        case!("socket AF_INET datagram", OK, |a, _| {
            a.socket(AF_INET, SOCK_DGRAM, 0)
        }),
        case!("socket AF_UNIX stream", OK, |a, _| {
            a.socket(AF_UNIX, SOCK_STREAM, 0)
        }),
        case!("socket unknown type: EINVAL", EINVAL, |a, _| {
            a.socket(AF_INET, 999, 0)
        }),
        case!("socket unknown flag in the type: EINVAL", EINVAL, |a, _| {
            a.socket(AF_INET, SOCK_STREAM | 0x4000_0000, 0)
        }),
        case!(
            "socket unknown domain: EAFNOSUPPORT",
            EAFNOSUPPORT,
            |a, _| { a.socket(999, SOCK_STREAM, 0) }
        ),
        case!(
            "socket stream with UDP: EPROTONOSUPPORT",
            EPROTONOSUPPORT,
            |a, _| { a.socket(AF_INET, SOCK_STREAM, libc::IPPROTO_UDP) }
        ),
        case!("bind 127.0.0.1:0", OK, |a, _| {
            let fd = tcp_socket();
            a.bind(fd.as_fd(), &"127.0.0.1:0".parse().unwrap())?;
            let addr = getsockname(&fd).unwrap();
            Ok(format!("{} {}", addr.ip(), addr.port() != 0))
        }),
        case!(
            "bind a listener's address: EADDRINUSE",
            EADDRINUSE,
            |a, _| {
                let (_l, addr) = listener();
                a.bind(tcp_socket().as_fd(), &addr)
            }
        ),
        case!("bind twice: EINVAL", EINVAL, |a, _| {
            let fd = tcp_socket();
            let any = "127.0.0.1:0".parse().unwrap();
            a.bind(fd.as_fd(), &any)?;
            a.bind(fd.as_fd(), &any)
        }),
        case!(
            "bind a non-local address: EADDRNOTAVAIL",
            EADDRNOTAVAIL,
            |a, _| {
                let addr = "192.0.2.1:0".parse().unwrap();
                a.bind(tcp_socket().as_fd(), &addr)
            }
        ),
        case!(
            "bind an IPv6 address to an IPv4 socket: EAFNOSUPPORT",
            EAFNOSUPPORT,
            |a, _| {
                let addr = "[::1]:0".parse().unwrap();
                a.bind(tcp_socket().as_fd(), &addr)
            }
        ),
        case!("bind a file: ENOTSOCK", ENOTSOCK, |a, f| {
            let addr = "127.0.0.1:0".parse().unwrap();
            a.bind(f.file.as_fd(), &addr)
        }),
        case!("bind a closed fd: EBADF", EBADF, |a, _| {
            let addr = "127.0.0.1:0".parse().unwrap();
            a.bind(bad(), &addr)
        }),
        case!("listen a bound socket: connectable", OK, |a, _| {
            let fd = tcp_socket();
            sys_bind_loopback(&fd);
            a.listen(fd.as_fd(), 16)?;
            let addr = getsockname(&fd).unwrap();
            Ok(format!("{}", std::net::TcpStream::connect(addr).is_ok()))
        }),
        case!("listen an unbound socket binds it", OK, |a, _| {
            let fd = tcp_socket();
            a.listen(fd.as_fd(), 16)?;
            Ok(format!("{}", getsockname(&fd).unwrap().port() != 0))
        }),
        case!("listen a UDP socket: EOPNOTSUPP", EOPNOTSUPP, |a, _| {
            a.listen(udp_socket().as_fd(), 16)
        }),
        case!("listen a file: ENOTSOCK", ENOTSOCK, |a, f| {
            a.listen(f.file.as_fd(), 16)
        }),
        case!("listen a closed fd: EBADF", EBADF, |a, _| {
            a.listen(bad(), 16)
        }),
    ]
}

pub fn connections() -> Vec<Case> {
    vec![
        case!("accept: the fd and the peer's address", OK, |a, _| {
            let (l, addr) = listener();
            let client = std::net::TcpStream::connect(addr).unwrap();
            let (fd, peer) = a.accept(l.as_fd())?;
            Ok(format!(
                "{} peer_ok={}",
                fd_desc(&fd),
                peer == client.local_addr().unwrap()
            ))
        }),
        case!("accept4 SOCK_CLOEXEC | SOCK_NONBLOCK", OK, |a, _| {
            let (l, addr) = listener();
            let client = std::net::TcpStream::connect(addr).unwrap();
            let (fd, peer) = a.accept4(l.as_fd(), libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)?;
            Ok(format!(
                "{} peer_ok={}",
                fd_desc(&fd),
                peer == client.local_addr().unwrap()
            ))
        }),
        case!(
            "accept a unix socket: the unspecified address",
            OK,
            |a, f| {
                let path = f.p("sock");
                let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
                let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
                let (fd, peer) = a.accept(l.as_fd())?;
                Ok(format!("{} {peer}", fd_desc(&fd)))
            }
        ),
        case!("accept4 unknown flag: EINVAL", EINVAL, |a, _| {
            let (l, _addr) = listener();
            a.accept4(l.as_fd(), 0x1)
        }),
        case!(
            "accept a socket that is not listening: EINVAL",
            EINVAL,
            |a, _| { a.accept(tcp_socket().as_fd()) }
        ),
        case!("accept a UDP socket: EOPNOTSUPP", EOPNOTSUPP, |a, _| {
            a.accept(udp_socket().as_fd())
        }),
        case!("accept a file: ENOTSOCK", ENOTSOCK, |a, f| {
            a.accept(f.file.as_fd())
        }),
        case!("accept a closed fd: EBADF", EBADF, |a, _| {
            a.accept(bad())
        }),
        case!("connect to a listener", OK, |a, _| {
            let (l, addr) = listener();
            let fd = tcp_socket();
            a.connect(fd.as_fd(), &addr)?;
            let (server, _) = Libc.accept(l.as_fd()).unwrap();
            sys::write(&fd, b"hi").unwrap();
            let mut b = [0u8; 2];
            sys::read(&server, &mut b).unwrap();
            Ok(s(&b))
        }),
        case!("connect a UDP socket", OK, |a, _| {
            let fd = udp_socket();
            a.connect(fd.as_fd(), &"127.0.0.1:9".parse().unwrap())?;
            Ok(format!("{}", getsockname(&fd).unwrap().ip()))
        }),
        case!(
            "connect to a closed port: ECONNREFUSED",
            ECONNREFUSED,
            |a, _| { a.connect(tcp_socket().as_fd(), &closed_port()) }
        ),
        case!("connect a connected socket: EISCONN", EISCONN, |a, _| {
            let (l, addr) = listener();
            let fd = tcp_socket();
            Libc.connect(fd.as_fd(), &addr).unwrap();
            let res = a.connect(fd.as_fd(), &addr);
            drop(l);
            res
        }),
        case!(
            "connect an IPv4 socket to an IPv6 address: EAFNOSUPPORT",
            EAFNOSUPPORT,
            |a, _| { a.connect(tcp_socket().as_fd(), &"[::1]:9".parse().unwrap()) }
        ),
        case!("connect a file: ENOTSOCK", ENOTSOCK, |a, f| {
            a.connect(f.file.as_fd(), &closed_port())
        }),
        case!("connect a closed fd: EBADF", EBADF, |a, _| {
            a.connect(bad(), &closed_port())
        }),
        case!("send: the peer receives it", OK, |a, _| {
            let (client, server) = tcp_pair();
            let n = a.send(client.as_fd(), b"hello", 0)?;
            let mut b = [0u8; 8];
            let m = sys::read(&server, &mut b).unwrap();
            Ok(format!("{n} {}", s(&b[..m])))
        }),
        case!("send MSG_DONTWAIT", OK, |a, _| {
            let (client, server) = tcp_pair();
            let n = a.send(client.as_fd(), b"hello", libc::MSG_DONTWAIT)?;
            let mut b = [0u8; 8];
            let m = sys::read(&server, &mut b).unwrap();
            Ok(format!("{n} {}", s(&b[..m])))
        }),
        case!("send after shutdown(Write): EPIPE", EPIPE, |a, _| {
            let (client, _server) = tcp_pair();
            Libc.shutdown(client.as_fd(), Shutdown::Write).unwrap();
            a.send(client.as_fd(), b"x", libc::MSG_NOSIGNAL)
        }),
        case!("send on an unconnected TCP socket: EPIPE", EPIPE, |a, _| {
            a.send(tcp_socket().as_fd(), b"x", libc::MSG_NOSIGNAL)
        }),
        case!(
            "send on an unconnected UDP socket: EDESTADDRREQ",
            EDESTADDRREQ,
            |a, _| { a.send(udp_socket().as_fd(), b"x", 0) }
        ),
        case!("send on a file: ENOTSOCK", ENOTSOCK, |a, f| {
            a.send(f.file.as_fd(), b"x", 0)
        }),
        case!("send on a closed fd: EBADF", EBADF, |a, _| {
            a.send(bad(), b"x", 0)
        }),
        case!("recv", OK, |a, _| {
            let (client, server) = tcp_pair();
            sys::write(&server, b"hello").unwrap();
            let mut b = [0u8; 16];
            let n = a.recv(client.as_fd(), &mut b, 0)?;
            Ok(format!("{n} {}", s(&b[..n])))
        }),
        case!("recv MSG_PEEK leaves the data", OK, |a, _| {
            let (client, server) = tcp_pair();
            sys::write(&server, b"hello").unwrap();
            let mut b = [0u8; 3];
            let n = a.recv(client.as_fd(), &mut b, libc::MSG_PEEK)?;
            let mut rest = [0u8; 16];
            let m = sys::read(&client, &mut rest).unwrap();
            Ok(format!("{n} {} {}", s(&b), s(&rest[..m])))
        }),
        case!("recv after the peer's shutdown(Write): 0", OK, |a, _| {
            let (client, server) = tcp_pair();
            Libc.shutdown(server.as_fd(), Shutdown::Write).unwrap();
            a.recv(client.as_fd(), &mut [0u8; 8], 0)
        }),
        case!(
            "recv into an empty buffer with data pending: 0",
            OK,
            |a, _| {
                let (client, server) = tcp_pair();
                sys::write(&server, b"data").unwrap();
                let n = a.recv(client.as_fd(), &mut [], 0)?;
                let mut b = [0u8; 8];
                let m = sys::read(&client, &mut b).unwrap();
                Ok(format!("{n} {}", s(&b[..m])))
            }
        )
        .may_block(),
        case!("recv MSG_DONTWAIT without data: EAGAIN", EAGAIN, |a, _| {
            let (client, _server) = tcp_pair();
            a.recv(client.as_fd(), &mut [0u8; 8], libc::MSG_DONTWAIT)
        })
        .may_block(),
        case!(
            "recv an unconnected TCP socket: ENOTCONN",
            ENOTCONN,
            |a, _| { a.recv(tcp_socket().as_fd(), &mut [0u8; 8], 0) }
        ),
        case!("recv a file: ENOTSOCK", ENOTSOCK, |a, f| {
            a.recv(f.file.as_fd(), &mut [0u8; 8], 0)
        }),
        case!("recv a closed fd: EBADF", EBADF, |a, _| {
            a.recv(bad(), &mut [0u8; 8], 0)
        }),
        case!("shutdown(Write): the peer reads EOF", OK, |a, _| {
            let (client, server) = tcp_pair();
            a.shutdown(client.as_fd(), Shutdown::Write)?;
            Ok(format!("{:?}", sys::read(&server, &mut [0u8; 4])))
        }),
        case!("shutdown(Read): reads give 0", OK, |a, _| {
            let (client, _server) = tcp_pair();
            a.shutdown(client.as_fd(), Shutdown::Read)?;
            Ok(format!("{:?}", sys::read(&client, &mut [0u8; 4])))
        }),
        case!("shutdown(Both)", OK, |a, _| {
            let (client, server) = tcp_pair();
            a.shutdown(client.as_fd(), Shutdown::Both)?;
            Ok(format!(
                "{:?} {:?}",
                sys::read(&client, &mut [0u8; 4]),
                sys::read(&server, &mut [0u8; 4])
            ))
        }),
        case!(
            "shutdown an unconnected socket: ENOTCONN",
            ENOTCONN,
            |a, _| { a.shutdown(tcp_socket().as_fd(), Shutdown::Both) }
        ),
        case!("shutdown a file: ENOTSOCK", ENOTSOCK, |a, f| {
            a.shutdown(f.file.as_fd(), Shutdown::Both)
        }),
        case!("shutdown a closed fd: EBADF", EBADF, |a, _| {
            a.shutdown(bad(), Shutdown::Both)
        }),
    ]
}

fn sys_bind_loopback(fd: &OwnedFd) {
    Libc.bind(fd.as_fd(), &"127.0.0.1:0".parse().unwrap())
        .expect("bind 127.0.0.1:0");
}
