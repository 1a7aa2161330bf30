//! The helper loop: read request lines from Squid on stdin, answer each on its own task, write replies to
//! stdout as they finish (out of order; the channel id pairs them). Stdout is the protocol: logs go to
//! stderr only. At end of input (Squid closing the helper) the answers in flight are still written.

use std::future::Future;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt as _, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::protocol::{parse_line, HelperLine, LineError, Reply};

/// What a mode does with one request.
pub trait Handler: Send + Sync + 'static {
    /// Answers one parsed request line; every failure is an `ERR` reply, never a missing one.
    fn handle(&self, line: HelperLine) -> impl Future<Output = Reply> + Send;
}

/// Longest request line read (Squid's helper buffer is 32 KB; a longer one is not Squid's).
const MAX_LINE: usize = 64 * 1024;

/// Serves `handler` on stdin/stdout until stdin ends (on Squid's socket itself: [`crate::stdio`]).
pub async fn serve<H: Handler>(handler: Arc<H>) -> std::io::Result<()> {
    let (input, output) = crate::stdio::channel()?;
    serve_on(handler, input, output).await
}

/// [`serve`] on any `input` and `output` (tests and the helper benchmark use in-memory pipes).
pub async fn serve_on<H, R, W>(handler: Arc<H>, input: R, mut output: W) -> std::io::Result<()>
where
    H: Handler,
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            output.write_all(line.as_bytes()).await?;
            // Squid waits for each answer: never leave one in a buffer.
            output.flush().await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut lines = BufReader::new(input);
    let mut buf = String::new();
    loop {
        buf.clear();
        let n = (&mut lines).take(MAX_LINE as u64).read_line(&mut buf).await?;
        if n == 0 {
            break;
        }
        if !buf.ends_with('\n') && n == MAX_LINE {
            // Longer than any line Squid writes (a huge header or TLS name can make one): the rest up
            // to the newline is part of it, never a line of its own (its tail could look like a channel
            // id). The request is answered ERR on its channel.
            skip_to_newline(&mut lines).await?;
            if let Some(channel) = buf.split_ascii_whitespace().next().filter(|c| parse_line(c).is_ok()) {
                tracing::warn!("overlong helper line refused");
                let _ = tx.send(Reply::err().note("reason", "proxy_request_unreadable").line(channel));
            }
            continue;
        }
        let text = buf.trim_end_matches(['\n', '\r']);
        match parse_line(text) {
            Ok(line) => {
                let (handler, tx) = (Arc::clone(&handler), tx.clone());
                tokio::spawn(async move {
                    let channel = line.channel.clone();
                    let reply = handler.handle(line).await;
                    let _ = tx.send(reply.line(&channel));
                });
            }
            Err(LineError::Empty) => {}
            // Not a line Squid writes: nothing can be answered on it (no channel to echo).
            Err(e) => tracing::warn!(error = %e, "unreadable helper line ignored"),
        }
    }
    drop(tx);
    writer.await.map_err(std::io::Error::other)?
}

/// Reads and drops input up to and including the next newline (or the end), in bounded chunks.
async fn skip_to_newline<R: tokio::io::AsyncBufRead + Unpin>(input: &mut R) -> std::io::Result<()> {
    let mut sink = Vec::new();
    loop {
        sink.clear();
        let n = (&mut *input).take(MAX_LINE as u64).read_until(b'\n', &mut sink).await?;
        if n == 0 || sink.ends_with(b"\n") {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Slow;
    impl Handler for Slow {
        async fn handle(&self, line: HelperLine) -> Reply {
            // The first request answers last.
            let wait = if line.values.first().and_then(|v| v.as_deref()) == Some("slow") {
                50
            } else {
                0
            };
            tokio::time::sleep(Duration::from_millis(wait)).await;
            Reply::ok().note("seen", line.values.len().to_string())
        }
    }

    #[tokio::test]
    async fn answers_come_back_out_of_order_with_their_channel() {
        let input: &[u8] = b"0 slow a\n1 fast\n\n2 fast b c\n";
        let (client, mut server) = tokio::io::duplex(4096);
        serve_on(Arc::new(Slow), input, client).await.unwrap();
        let mut out = String::new();
        server.read_to_string(&mut out).await.unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(lines[2], "0 OK seen=\"2\"", "the slow one last: {out}");
        assert!(lines.contains(&"1 OK seen=\"1\""));
        assert!(lines.contains(&"2 OK seen=\"3\""));
    }

    #[tokio::test]
    async fn an_overlong_line_is_refused_whole_and_its_tail_is_no_line() {
        // A request longer than any Squid line, whose tail after the cut looks like a request of its own.
        let mut input = b"5 fast ".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE));
        input.extend(b" 6 fast forged\n7 fast\n");
        let (client, mut server) = tokio::io::duplex(1 << 20);
        serve_on(Arc::new(Slow), input.as_slice(), client).await.unwrap();
        let mut out = String::new();
        server.read_to_string(&mut out).await.unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            ["5 ERR reason=\"proxy_request_unreadable\"", "7 OK seen=\"1\""],
            "{out}"
        );
    }
}
