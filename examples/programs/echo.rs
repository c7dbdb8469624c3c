// A thread-per-connection TCP echo server and its load client. Written against `std::net`;
// the `use` line is the only one naming the module.

use super::net::{TcpListener, TcpStream};

use std::io::{self, Read, Write};
use std::time::Instant;

/// Echoes one connection until the peer closes it.
fn serve(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}

/// Accepts connections forever, one thread each (or `limit` of them, then returns).
pub fn server(listener: TcpListener, limit: Option<usize>) -> io::Result<()> {
    let mut handles = Vec::new();
    for (i, stream) in listener.incoming().enumerate() {
        let stream = stream?;
        handles.push(std::thread::spawn(move || serve(stream)));
        if limit.is_some_and(|l| i + 1 >= l) {
            break;
        }
    }
    for h in handles {
        h.join().expect("a connection thread panicked")?;
    }
    Ok(())
}

/// `conns` clients, each making `msgs` round trips of `size` bytes and checking the echo.
/// Returns the round trips made.
pub fn client(addr: &str, conns: usize, msgs: usize, size: usize) -> io::Result<u64> {
    let threads: Vec<_> = (0..conns)
        .map(|c| {
            let addr = addr.to_string();
            std::thread::spawn(move || -> io::Result<u64> {
                let mut stream = TcpStream::connect(&addr)?;
                stream.set_nodelay(true)?;
                let msg: Vec<u8> = (0..size).map(|i| (i + c) as u8).collect();
                let mut back = vec![0u8; size];
                for _ in 0..msgs {
                    stream.write_all(&msg)?;
                    stream.read_exact(&mut back)?;
                    if back != msg {
                        return Err(io::Error::other("echo differs"));
                    }
                }
                Ok(msgs as u64)
            })
        })
        .collect();
    let mut total = 0;
    for t in threads {
        total += t.join().expect("a client thread panicked")?;
    }
    Ok(total)
}

fn flag(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn main(args: &[String]) -> io::Result<()> {
    let conns = flag(args, "--conns", 4);
    let msgs = flag(args, "--msgs", 10_000);
    let size = flag(args, "--size", 64);
    match args.first().map(String::as_str) {
        Some("server") => {
            let addr = args.get(1).map_or("127.0.0.1:7878", String::as_str);
            server(TcpListener::bind(addr)?, None)
        }
        Some("client") => {
            let addr = args.get(1).map_or("127.0.0.1:7878", String::as_str);
            let start = Instant::now();
            let trips = client(addr, conns, msgs, size)?;
            println!("round trips {trips} of {size} bytes over {conns} connections: ok");
            let secs = start.elapsed().as_secs_f64();
            eprintln!("{:.0} round trips/s", trips as f64 / secs);
            Ok(())
        }
        // Server and client in one process, on a free loopback port.
        Some("load") | None => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?.to_string();
            let server = std::thread::spawn(move || server(listener, Some(conns)));
            let start = Instant::now();
            let trips = client(&addr, conns, msgs, size)?;
            let secs = start.elapsed().as_secs_f64();
            server.join().expect("the server panicked")?;
            println!("round trips {trips} of {size} bytes over {conns} connections: ok");
            eprintln!("{:.0} round trips/s", trips as f64 / secs);
            Ok(())
        }
        Some(other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown mode {other}: server ADDR | client ADDR | load [--conns N --msgs N --size N]"),
        )),
    }
}
