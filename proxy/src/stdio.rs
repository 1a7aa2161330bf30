//! Squid's helper channel (stdin, stdout) as non-blocking I/O on the runtime's own event loop.
//!
//! `tokio::io::stdin()` and `stdout()` run every read, write and flush on a blocking thread, so each
//! answer crosses threads several times; on the proxy's path that was a measurable share of every
//! connection's cost (docs/BENCHMARKS.md, "The enforcing proxy"). Squid hands a helper one end of a Unix
//! socketpair as both stdin and stdout (`ipcCreate`, `IPC_STREAM`): that socket is the helper's alone, so
//! it is made non-blocking and registered with the runtime. Anything else (a pipe or terminal shared with
//! other processes, a file) keeps tokio's blocking adapters: O_NONBLOCK belongs to the open file, and a
//! shared one would make its other writers fail with EAGAIN.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use tokio::io::{AsyncRead, AsyncWrite};

/// The reading side of the channel.
pub type Input = Box<dyn AsyncRead + Unpin + Send>;
/// The writing side of the channel.
pub type Output = Box<dyn AsyncWrite + Unpin + Send>;

/// The inode of the socket `fd` refers to, or `None` when it is no socket.
fn socket_inode(fd: &OwnedFd) -> io::Result<Option<u64>> {
    let meta = File::from(fd.try_clone()?).metadata()?;
    Ok(meta.file_type().is_socket().then(|| meta.ino()))
}

/// A stream socket as a tokio stream (non-blocking, registered with the runtime).
fn socket(fd: OwnedFd) -> io::Result<tokio::net::UnixStream> {
    let s = std::os::unix::net::UnixStream::from(fd);
    s.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(s)
}

/// The helper's stdin and stdout: one socket on both (Squid's case) is one stream on the runtime's event
/// loop, split in two halves; anything else is tokio's blocking stdin and stdout.
pub fn channel() -> io::Result<(Input, Output)> {
    from_fds(
        io::stdin().as_fd().try_clone_to_owned()?,
        io::stdout().as_fd().try_clone_to_owned()?,
    )
}

/// [`channel`] over given copies of stdin and stdout (the tests give a socketpair's end).
fn from_fds(input: OwnedFd, output: OwnedFd) -> io::Result<(Input, Output)> {
    match (socket_inode(&input)?, socket_inode(&output)?) {
        (Some(a), Some(b)) if a == b => {
            drop(output);
            let (r, w) = socket(input)?.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
        _ => Ok((Box::new(tokio::io::stdin()), Box::new(tokio::io::stdout()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn the_two_ends_of_a_socketpair_are_two_sockets_and_a_dup_is_the_same() {
        let (a, b) = UnixStream::pair().unwrap();
        let (a, b) = (OwnedFd::from(a), OwnedFd::from(b));
        let (Some(x), Some(y)) = (socket_inode(&a).unwrap(), socket_inode(&b).unwrap()) else {
            panic!("sockets");
        };
        assert_ne!(x, y);
        assert_eq!(socket_inode(&a.try_clone().unwrap()).unwrap(), Some(x));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_socket_on_both_is_read_and_written_through_the_event_loop() {
        use std::io::{Read, Write};
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let (helper, mut squid) = UnixStream::pair().unwrap();
        let fd = OwnedFd::from(helper);
        let (input, mut output) = from_fds(fd.try_clone().unwrap(), fd).unwrap();
        squid.write_all(b"0 question\n").unwrap();
        let mut line = String::new();
        BufReader::new(input).read_line(&mut line).await.unwrap();
        assert_eq!(line, "0 question\n");
        output.write_all(b"0 OK\n").await.unwrap();
        let mut answer = [0u8; 5];
        squid.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"0 OK\n");
    }

    #[test]
    fn a_pipe_or_a_file_is_no_socket() {
        let (r, _w) = std::io::pipe().unwrap();
        assert_eq!(socket_inode(&OwnedFd::from(r)).unwrap(), None);
        let f = File::open("Cargo.toml").unwrap();
        assert_eq!(socket_inode(&OwnedFd::from(f)).unwrap(), None);
    }
}
