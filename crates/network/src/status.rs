//! The status handshake: each side tells the other its chain (genesis
//! hash) and best block on `/<genesis>/umbra/status/1`. The protocol name
//! carries the genesis, so a node of another chain fails negotiation; a
//! status naming another genesis is refused too, and either way the peer
//! is disconnected and never listed.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use parity_scale_codec::{Decode, Encode};
use umbra_primitives::{BlockNumber, H256};

/// Largest status message accepted.
pub const MAX_STATUS_LEN: usize = 256;

/// What a node says of itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Status {
    /// Its chain.
    pub genesis: H256,
    /// Its best block.
    pub best_number: BlockNumber,
    /// Its best block's hash.
    pub best_hash: H256,
    /// Whether it authors and votes (`AUTHORITY` in `system_peers`).
    pub authority: bool,
}

/// The protocol name for `genesis`.
pub fn protocol(genesis: &H256) -> libp2p::StreamProtocol {
    let name = format!("/0x{}/umbra/status/1", hex_of(genesis.as_bytes()));
    libp2p::StreamProtocol::try_from_owned(name).unwrap_or(libp2p::StreamProtocol::new("/umbra/status/1"))
}

/// Lower-case hex of `bytes`, as the protocol names carry the genesis.
pub(crate) fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SCALE over the stream, at most [`MAX_STATUS_LEN`] bytes, one message
/// each way.
#[derive(Clone, Copy, Debug, Default)]
pub struct Codec;

async fn read_status<T: AsyncRead + Unpin + Send>(io: &mut T) -> std::io::Result<Status> {
    let mut bytes = Vec::new();
    io.take(MAX_STATUS_LEN as u64 + 1).read_to_end(&mut bytes).await?;
    if bytes.len() > MAX_STATUS_LEN {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "status too large"));
    }
    let mut input = &bytes[..];
    let status = Status::decode(&mut input)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad status: {e}")))?;
    if !input.is_empty() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bytes after the status"));
    }
    Ok(status)
}

async fn write_status<T: AsyncWrite + Unpin + Send>(io: &mut T, status: Status) -> std::io::Result<()> {
    io.write_all(&status.encode()).await?;
    io.close().await
}

#[async_trait::async_trait]
impl libp2p::request_response::Codec for Codec {
    type Protocol = libp2p::StreamProtocol;
    type Request = Status;
    type Response = Status;

    async fn read_request<T>(&mut self, _: &Self::Protocol, io: &mut T) -> std::io::Result<Status>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_status(io).await
    }

    async fn read_response<T>(&mut self, _: &Self::Protocol, io: &mut T) -> std::io::Result<Status>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_status(io).await
    }

    async fn write_request<T>(&mut self, _: &Self::Protocol, io: &mut T, status: Status) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_status(io, status).await
    }

    async fn write_response<T>(&mut self, _: &Self::Protocol, io: &mut T, status: Status) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_status(io, status).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: Vec<u8>) -> std::io::Result<Status> {
        futures::executor::block_on(read_status(&mut futures::io::Cursor::new(bytes)))
    }

    /// A status round-trips; an oversized, truncated or padded one is an
    /// error, never a panic or a partial value.
    #[test]
    fn statuses_are_bounded_and_exact() {
        let status = Status { genesis: H256([1; 32]), best_number: 7, best_hash: H256([2; 32]), authority: true };
        assert_eq!(read(status.encode()).unwrap(), status);
        let mut padded = status.encode();
        padded.push(0);
        assert!(read(padded).is_err(), "trailing bytes");
        assert!(read(status.encode()[..40].to_vec()).is_err(), "truncated");
        assert!(read(vec![0; MAX_STATUS_LEN + 1]).is_err(), "oversized");
        assert!(read(vec![0; 10 << 20]).is_err(), "a flood is cut at the bound");
        assert_ne!(protocol(&H256([1; 32])), protocol(&H256([2; 32])), "the protocol names the chain");
    }
}
