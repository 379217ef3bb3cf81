//! Reading a connector's metrics from its pod: one plain HTTP/1.0 GET (the metrics port
//! serves no credentials, and HTTP/1.0 keeps the answer unchunked), with a deadline and a size
//! limit. Errors are short texts for a condition message.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one read of the metrics may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The most of an answer read (a connector's metrics are a few kilobytes).
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The body of `GET http://<ip>:<port><path>` when it answers 200.
pub async fn metrics(ip: &str, port: i32, path: &str) -> Result<String, String> {
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    let addr = format!("{host}:{port}");
    let get = async {
        let mut tcp = TcpStream::connect(&addr)
            .await
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        let request = format!(
            "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/plain\r\nUser-Agent: smbp-operator\r\n\r\n"
        );
        tcp.write_all(request.as_bytes())
            .await
            .map_err(|e| format!("writing to {addr}: {e}"))?;
        let mut answer = Vec::new();
        tcp.take(MAX_BYTES)
            .read_to_end(&mut answer)
            .await
            .map_err(|e| format!("reading from {addr}: {e}"))?;
        Ok::<_, String>(answer)
    };
    let answer = tokio::time::timeout(TIMEOUT, get)
        .await
        .map_err(|_| format!("{addr} did not answer within {}s", TIMEOUT.as_secs()))??;
    parse(&answer).map_err(|e| format!("{addr}{path}: {e}"))
}

/// The body of an HTTP answer with status 200.
pub fn parse(answer: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "not an HTTP answer".to_string())?;
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .ok_or_else(|| "not an HTTP answer".to_string())?;
    if status != "200" {
        return Err(format!("answered HTTP {status}"));
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_200_gives_a_body() {
        assert_eq!(
            parse(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\na 1\n").unwrap(),
            "a 1\n"
        );
        assert_eq!(
            parse(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").unwrap_err(),
            "answered HTTP 503"
        );
        assert!(parse(b"garbage").is_err());
    }

    #[tokio::test]
    async fn reads_from_a_live_server_and_reports_a_closed_port() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = i32::from(listener.local_addr().unwrap().port());
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\nm 5\n").await.unwrap();
        });
        assert_eq!(
            metrics("127.0.0.1", port, "/metrics").await.unwrap(),
            "m 5\n"
        );
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = i32::from(closed.local_addr().unwrap().port());
        drop(closed);
        assert!(
            metrics("127.0.0.1", port, "/metrics")
                .await
                .unwrap_err()
                .contains("connecting")
        );
    }
}
