//! Compressed bodies, both ways.
//!
//! Requests: a body sent with `Content-Encoding: gzip` or `deflate` is inflated before it is
//! decoded. Inflating streams through a cap: a body whose inflated size passes
//! `model::limits::REQUEST_BODY_BYTES_MAX` is refused (413, like an uncompressed body that
//! large) as soon as the cap is crossed, so a small "zip bomb" never gets inflated in memory.
//! Data that does not inflate is a SerializationException.
//!
//! Responses: when `Accept-Encoding` accepts gzip (or else deflate), the body is compressed
//! and `Content-Encoding` says so. DynamoDB computes `x-amz-crc32` over the bytes on the wire,
//! i.e. over the compressed body; the server does the same (SDKs that check it read the body
//! before inflating it).

use std::io::{Read as _, Write as _};

use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;

use crate::error::ApiError;

/// A content coding Meridian reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` (RFC 1952), also spelled `x-gzip`.
    Gzip,
    /// `deflate`: zlib-wrapped (RFC 1950) as HTTP defines it; raw deflate (RFC 1951), which
    /// some clients send under the same name, is read too.
    Deflate,
}

impl Coding {
    /// The `Content-Encoding` token.
    pub fn as_str(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }
}

/// The coding of a request body from its `Content-Encoding` header: `None` for no header or
/// `identity`; a SerializationException for a coding Meridian cannot read (or a chain of
/// several).
pub fn request_coding(header: Option<&[u8]>) -> Result<Option<Coding>, ApiError> {
    let Some(raw) = header else {
        return Ok(None);
    };
    let text = std::str::from_utf8(raw)
        .map_err(|_| ApiError::Serialization("The Content-Encoding header is not valid".into()))?;
    let mut found = None;
    for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let coding = match token.to_ascii_lowercase().as_str() {
            "identity" => continue,
            "gzip" | "x-gzip" => Coding::Gzip,
            "deflate" => Coding::Deflate,
            other => {
                return Err(ApiError::Serialization(format!(
                    "Unsupported Content-Encoding: {other}; use gzip or deflate"
                )))
            }
        };
        if found.is_some() {
            return Err(ApiError::Serialization(
                "Only one Content-Encoding (gzip or deflate) may be applied to a request body"
                    .into(),
            ));
        }
        found = Some(coding);
    }
    Ok(found)
}

/// Inflates `body`, reading at most `cap` inflated bytes: more than that is a
/// RequestEntityTooLarge, data that does not inflate a SerializationException.
pub fn inflate(coding: Coding, body: &[u8], cap: usize) -> Result<Vec<u8>, ApiError> {
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    // Start small: the compressed size says little about the inflated one.
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(cap));
    let read = match coding {
        Coding::Gzip => MultiGzDecoder::new(body).take(limit).read_to_end(&mut out),
        Coding::Deflate if is_zlib(body) => {
            ZlibDecoder::new(body).take(limit).read_to_end(&mut out)
        }
        Coding::Deflate => DeflateDecoder::new(body).take(limit).read_to_end(&mut out),
    };
    match read {
        Ok(_) if out.len() > cap => Err(ApiError::RequestTooLarge),
        Ok(_) => Ok(out),
        Err(error) => Err(ApiError::Serialization(format!(
            "The request body is not valid {} data: {error}",
            coding.as_str()
        ))),
    }
}

/// Whether `body` starts with a zlib header (RFC 1950 section 2.2: method 8, a check value
/// that makes the first two bytes a multiple of 31).
fn is_zlib(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// The coding to answer with, from the request's `Accept-Encoding`: gzip when it is accepted
/// (by name or `*`, with a non-zero q), else deflate, else none.
pub fn response_coding(accept: Option<&[u8]>) -> Option<Coding> {
    let text = std::str::from_utf8(accept?).ok()?;
    let mut gzip = None;
    let mut deflate = None;
    let mut star = None;
    for item in text.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let accepted = q > 0.0;
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(accepted),
            "deflate" => deflate = Some(accepted),
            "*" => star = Some(accepted),
            _ => {}
        }
    }
    if gzip.or(star) == Some(true) {
        Some(Coding::Gzip)
    } else if deflate.or(star) == Some(true) {
        Some(Coding::Deflate)
    } else {
        None
    }
}

/// Compresses a response body.
pub fn compress(coding: Coding, body: &[u8]) -> Vec<u8> {
    // Writing into a Vec cannot fail.
    let written = match coding {
        Coding::Gzip => {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(body).and_then(|()| encoder.finish())
        }
        Coding::Deflate => {
            let mut encoder = ZlibEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(body).and_then(|()| encoder.finish())
        }
    };
    written.unwrap_or_else(|_| body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        compress(Coding::Gzip, data)
    }

    #[test]
    fn t10_round_trips() {
        let data = br#"{"TableName":"t"}"#.repeat(100);
        assert_eq!(inflate(Coding::Gzip, &gzip(&data), 1 << 20).unwrap(), data);
        let zlib = compress(Coding::Deflate, &data);
        assert_eq!(inflate(Coding::Deflate, &zlib, 1 << 20).unwrap(), data);
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        raw.write_all(&data).unwrap();
        let raw = raw.finish().unwrap();
        assert_eq!(inflate(Coding::Deflate, &raw, 1 << 20).unwrap(), data);
    }

    #[test]
    fn t10_bomb_stops_at_the_cap() {
        let zeros = vec![0u8; 4 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 64 << 10);
        assert_eq!(
            inflate(Coding::Gzip, &bomb, 1 << 20),
            Err(ApiError::RequestTooLarge)
        );
        assert_eq!(
            inflate(Coding::Gzip, &bomb, 4 << 20).unwrap().len(),
            4 << 20
        );
    }

    #[test]
    fn t10_garbage_is_a_serialization_error() {
        let err = inflate(Coding::Gzip, b"not gzip at all", 1 << 20).unwrap_err();
        assert!(matches!(err, ApiError::Serialization(_)), "{err:?}");
        let mut truncated = gzip(b"hello world hello world");
        truncated.truncate(truncated.len() - 6);
        assert!(matches!(
            inflate(Coding::Gzip, &truncated, 1 << 20),
            Err(ApiError::Serialization(_))
        ));
    }

    #[test]
    fn t10_header_parsing() {
        assert_eq!(request_coding(None).unwrap(), None);
        assert_eq!(request_coding(Some(b"identity")).unwrap(), None);
        assert_eq!(request_coding(Some(b"GZIP")).unwrap(), Some(Coding::Gzip));
        assert_eq!(
            request_coding(Some(b"deflate")).unwrap(),
            Some(Coding::Deflate)
        );
        assert!(request_coding(Some(b"br")).is_err());
        assert!(request_coding(Some(b"gzip, deflate")).is_err());

        assert_eq!(response_coding(None), None);
        assert_eq!(response_coding(Some(b"identity")), None);
        assert_eq!(response_coding(Some(b"gzip, deflate")), Some(Coding::Gzip));
        assert_eq!(response_coding(Some(b"deflate")), Some(Coding::Deflate));
        assert_eq!(
            response_coding(Some(b"gzip;q=0, deflate;q=0.5")),
            Some(Coding::Deflate)
        );
        assert_eq!(response_coding(Some(b"*")), Some(Coding::Gzip));
        assert_eq!(response_coding(Some(b"*;q=0")), None);
        assert_eq!(response_coding(Some(b"br")), None);
    }
}
