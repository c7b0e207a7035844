//! Request-response protocols that carry opaque bytes under size bounds:
//! block requests and GRANDPA catch-up. The node encodes and decodes the
//! messages; here each protocol's request and response are read up to their
//! bound and refused past it, so an oversized message never reaches memory
//! beyond the bound.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A request-response protocol of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestKind {
    /// Blocks by number range, or a block and its ancestors by hash:
    /// headers, bodies, justifications (`/<genesis>/umbra/sync/2`).
    Blocks,
    /// A GRANDPA round to catch up to (`/<genesis>/umbra/grandpa/catchup/1`).
    CatchUp,
    /// A warp-sync proof: set-change justifications from a block on
    /// (`/<genesis>/umbra/sync/warp/1`).
    Warp,
    /// A page of a finalized block's state (`/<genesis>/umbra/sync/state/1`).
    State,
}

impl RequestKind {
    /// Every kind, in a fixed order.
    pub const ALL: [RequestKind; 4] =
        [RequestKind::Blocks, RequestKind::CatchUp, RequestKind::Warp, RequestKind::State];

    /// The protocol name's suffix after the genesis.
    pub fn suffix(self) -> &'static str {
        match self {
            RequestKind::Blocks => "umbra/sync/2",
            RequestKind::CatchUp => "umbra/grandpa/catchup/1",
            RequestKind::Warp => "umbra/sync/warp/1",
            RequestKind::State => "umbra/sync/state/1",
        }
    }

    /// Largest request accepted.
    pub fn max_request(self) -> usize {
        match self {
            RequestKind::Blocks => 1024,
            RequestKind::CatchUp => 256,
            RequestKind::Warp => 64,
            RequestKind::State => 4096,
        }
    }

    /// Largest response accepted.
    pub fn max_response(self) -> usize {
        match self {
            RequestKind::Blocks => MAX_BLOCKS_RESPONSE,
            RequestKind::CatchUp => 4 << 20,
            RequestKind::Warp => 16 << 20,
            RequestKind::State => 16 << 20,
        }
    }
}

/// Largest block response: the serving side cuts its answer below this.
pub const MAX_BLOCKS_RESPONSE: usize = 16 << 20;

/// Reads and writes one message each way, bounded per direction.
#[derive(Clone, Copy, Debug)]
pub struct BytesCodec {
    max_request: usize,
    max_response: usize,
}

impl BytesCodec {
    /// The codec of `kind`.
    pub fn new(kind: RequestKind) -> Self {
        BytesCodec { max_request: kind.max_request(), max_response: kind.max_response() }
    }
}

/// Reads to the end of the stream, failing past `bound` bytes.
pub(crate) async fn read_bounded<T: AsyncRead + Unpin + Send>(io: &mut T, bound: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io.take(bound as u64 + 1).read_to_end(&mut bytes).await?;
    if bytes.len() > bound {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("message over {bound} bytes")));
    }
    Ok(bytes)
}

async fn write_all<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8], bound: usize) -> std::io::Result<()> {
    if bytes.len() > bound {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("message over {bound} bytes")));
    }
    io.write_all(bytes).await?;
    io.close().await
}

#[async_trait::async_trait]
impl libp2p::request_response::Codec for BytesCodec {
    type Protocol = libp2p::StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &Self::Protocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, self.max_request).await
    }

    async fn read_response<T>(&mut self, _: &Self::Protocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, self.max_response).await
    }

    async fn write_request<T>(&mut self, _: &Self::Protocol, io: &mut T, data: Vec<u8>) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_all(io, &data, self.max_request).await
    }

    async fn write_response<T>(&mut self, _: &Self::Protocol, io: &mut T, data: Vec<u8>) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_all(io, &data, self.max_response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: Vec<u8>, bound: usize) -> std::io::Result<Vec<u8>> {
        futures::executor::block_on(read_bounded(&mut futures::io::Cursor::new(bytes), bound))
    }

    /// A message at the bound is read whole; one byte more is an error,
    /// and a flood is cut at the bound.
    #[test]
    fn messages_are_bounded() {
        assert_eq!(read(vec![7; 100], 100).unwrap().len(), 100);
        assert!(read(vec![7; 101], 100).is_err());
        assert!(read(vec![0; 8 << 20], 1024).is_err());
        for kind in RequestKind::ALL {
            assert!(kind.max_request() < kind.max_response());
        }
    }
}
