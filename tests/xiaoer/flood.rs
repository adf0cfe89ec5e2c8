//! One client cannot take the service down: a real server is flooded with held, half-open
//! and idle connections from one address while a client on another keeps being answered.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{tiny_corpus, xiaoer};

/// Whether the server has closed `s` (a read sees end of file or a reset, not a timeout).
fn closed(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a response or an error page; keep reading to the end
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// GET /api/health from `source` (another loopback address); the status line.
fn health_from(source: [u8; 4], server: SocketAddr) -> String {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((source, 0)).into()).unwrap();
    socket
        .connect_timeout(&server.into(), Duration::from_secs(5))
        .unwrap();
    let mut s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.lines().next().unwrap_or_default().to_string()
}

#[test]
fn a_flood_of_held_connections_from_one_address_leaves_others_served() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("xiaoer.toml");
    std::fs::write(
        &config,
        "[web]\nmax_connections_per_address = 20\nheader_read_timeout_secs = 2\n",
    )
    .unwrap();
    let mut child = xiaoer()
        .args([
            "--config",
            config.to_str().unwrap(),
            "--data",
            dir.path().join("data").to_str().unwrap(),
            "--index",
            dir.path().join("index").to_str().unwrap(),
            "--corpus",
            tiny_corpus().to_str().unwrap(),
            "serve",
            "--addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let server: SocketAddr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .and_then(|w| w.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));

    // The flood: 300 connections from 127.0.0.1, half of them sending half a request head.
    let mut held: Vec<TcpStream> = (0..300)
        .map(|i| {
            let mut s = TcpStream::connect(server).unwrap();
            if i % 2 == 0 {
                let _ = s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n");
            }
            s
        })
        .collect();
    // And one that was answered and now sits idle on keep-alive.
    let mut idle = TcpStream::connect(server).unwrap();
    idle.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();

    // Another client, on another address, is answered throughout.
    for _ in 0..10 {
        assert_eq!(health_from([127, 0, 0, 2], server), "HTTP/1.1 200 OK");
    }
    // Past the per-address cap the flood's connections were closed at once.
    std::thread::sleep(Duration::from_millis(300));
    let open_now = held.iter_mut().map(closed).filter(|c| !c).count();
    assert!(
        open_now <= 20,
        "{open_now} of the flood's connections still open"
    );

    // After the header-read timeout the half-open, silent and idle ones are closed too.
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let open = held.iter_mut().map(closed).filter(|c| !c).count();
        let idle_open = !closed(&mut idle);
        if open == 0 && !idle_open {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} held and idle={idle_open} still open after the timeout"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // And the address that flooded is served again once its connections are gone.
    assert_eq!(health_from([127, 0, 0, 1], server), "HTTP/1.1 200 OK");
    child.kill().unwrap();
    child.wait().unwrap();
}
