//! Squid's helper channel (stdin, stdout) as non-blocking I/O on the runtime's own event loop.
//!
//! `tokio::io::stdin()` and `stdout()` run every read, write and flush on a blocking thread, so each
//! answer crosses threads several times; on the proxy's path that was a measurable share of every
//! connection's cost (docs/BENCHMARKS.md, "The enforcing proxy"). Squid hands a helper one end of a Unix
//! socketpair as both stdin and stdout (`ipcCreate`, `IPC_STREAM`), and a socket or a pipe can be watched
//! by epoll like any other: this module registers the descriptors themselves. Anything else (a terminal,
//! a file) keeps tokio's blocking adapters.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;

/// The reading side of the channel.
pub type Input = Box<dyn AsyncRead + Unpin + Send>;
/// The writing side of the channel.
pub type Output = Box<dyn AsyncWrite + Unpin + Send>;

/// What a descriptor is, for choosing how to drive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A stream socket (Squid's socketpair), identified by its inode.
    Socket(u64),
    /// A pipe or FIFO.
    Pipe,
    /// Anything else (a terminal, a file): tokio's blocking adapters.
    Other,
}

fn kind(fd: &OwnedFd) -> io::Result<Kind> {
    let meta = File::from(fd.try_clone()?).metadata()?;
    let t = meta.file_type();
    Ok(if t.is_socket() {
        Kind::Socket(meta.ino())
    } else if t.is_fifo() {
        Kind::Pipe
    } else {
        Kind::Other
    })
}

/// A stream socket as a tokio stream (non-blocking, registered with the runtime).
fn socket(fd: OwnedFd) -> io::Result<tokio::net::UnixStream> {
    let s = std::os::unix::net::UnixStream::from(fd);
    s.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(s)
}

/// The helper's stdin and stdout, each driven by the runtime's event loop when it is a socket or a pipe.
/// One socket on both (Squid's case) is one registered stream, split in two halves.
pub fn channel() -> io::Result<(Input, Output)> {
    let input = io::stdin().as_fd().try_clone_to_owned()?;
    let output = io::stdout().as_fd().try_clone_to_owned()?;
    let (kin, kout) = (kind(&input)?, kind(&output)?);
    if let (Kind::Socket(a), Kind::Socket(b)) = (kin, kout) {
        if a == b {
            drop(output);
            let (r, w) = socket(input)?.into_split();
            return Ok((Box::new(r), Box::new(w)));
        }
    }
    let reader: Input = match kin {
        Kind::Socket(_) => Box::new(socket(input)?),
        Kind::Pipe => Box::new(pipe::Receiver::from_owned_fd(input)?),
        Kind::Other => Box::new(tokio::io::stdin()),
    };
    let writer: Output = match kout {
        Kind::Socket(_) => Box::new(socket(output)?),
        Kind::Pipe => Box::new(pipe::Sender::from_owned_fd(output)?),
        Kind::Other => Box::new(tokio::io::stdout()),
    };
    Ok((reader, writer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_socketpair_is_a_socket_and_its_two_ends_differ() {
        let (a, b) = UnixStream::pair().unwrap();
        let (a, b) = (OwnedFd::from(a), OwnedFd::from(b));
        let (Kind::Socket(x), Kind::Socket(y)) = (kind(&a).unwrap(), kind(&b).unwrap()) else {
            panic!("sockets");
        };
        assert_ne!(x, y);
        assert_eq!(
            kind(&a.try_clone().unwrap()).unwrap(),
            Kind::Socket(x),
            "a dup is the same socket"
        );
    }

    #[test]
    fn a_pipe_is_a_pipe_and_a_file_is_neither() {
        let (r, _w) = std::io::pipe().unwrap();
        assert_eq!(kind(&OwnedFd::from(r)).unwrap(), Kind::Pipe);
        let f = File::open("Cargo.toml").unwrap();
        assert_eq!(kind(&OwnedFd::from(f)).unwrap(), Kind::Other);
    }
}
