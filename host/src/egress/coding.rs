//! Content and transfer codings of a response.
//!
//! The host asks every server for `identity` (a skill's `Accept-Encoding`
//! is replaced), but a server may compress anyway, stack codings
//! (`gzip, gzip`) or use a transfer coding other than `chunked`. Whatever
//! arrives is decoded here, before the secret scan and before the guest
//! sees a byte: gzip, deflate (zlib or raw), br and zstd. A coding the host
//! cannot decode is refused (`egress.unsupported_encoding`); encoded bytes
//! that were not scanned decoded never reach the guest. The decoded size
//! counts against the response cap, so a compression bomb is
//! `egress.response_too_large`.

use std::io::Read;

use super::EgressDenial;
use crate::contract::Header;

/// What the host asks servers to send.
pub const ACCEPT_ENCODING: &str = "identity";

/// Decode `body` by the codings named in `headers`, innermost last, and
/// drop the headers that described the encoded form.
pub(crate) fn decode(
    headers: &mut Vec<Header>,
    mut body: Vec<u8>,
    limit: u64,
) -> Result<Vec<u8>, EgressDenial> {
    // Transfer codings were applied after content codings: undo them first.
    let mut order = codings(headers, "transfer-encoding");
    order.extend(codings(headers, "content-encoding"));
    if order.is_empty() {
        return Ok(body);
    }
    for coding in order {
        body = decode_one(&coding, &body, limit)?;
    }
    headers.retain(|h| {
        !["content-encoding", "transfer-encoding", "content-length"]
            .iter()
            .any(|n| h.name.eq_ignore_ascii_case(n))
    });
    Ok(body)
}

/// The codings a header lists, in the order to undo them (last applied
/// first), without `identity` and `chunked` (hyper removes chunked framing).
fn codings(headers: &[Header], name: &str) -> Vec<String> {
    let mut listed: Vec<String> = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .flat_map(|h| h.value.split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity" && c != "chunked")
        .collect();
    listed.reverse();
    listed
}

fn decode_one(coding: &str, body: &[u8], limit: u64) -> Result<Vec<u8>, EgressDenial> {
    let undecodable = || {
        EgressDenial::UnsupportedEncoding(format!(
            "the response's `{coding}` coding could not be decoded"
        ))
    };
    let reader: Box<dyn Read + '_> = match coding {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(body)),
        "deflate" => {
            // Servers send both the zlib form (what the RFC names) and the
            // raw form; a zlib header is checked cheaply first.
            if is_zlib(body) {
                Box::new(flate2::read::ZlibDecoder::new(body))
            } else {
                Box::new(flate2::read::DeflateDecoder::new(body))
            }
        }
        "br" => Box::new(brotli_decompressor::Decompressor::new(body, 4096)),
        "zstd" => {
            Box::new(ruzstd::decoding::StreamingDecoder::new(body).map_err(|_| undecodable())?)
        }
        other => {
            let name: String = other.chars().take(32).collect();
            return Err(EgressDenial::UnsupportedEncoding(format!(
                "the response uses the `{}` coding, which the host cannot decode",
                name.escape_debug()
            )));
        }
    };
    let mut out = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|_| undecodable())?;
    if out.len() as u64 > limit {
        return Err(EgressDenial::ResponseTooLarge(limit));
    }
    Ok(out)
}

/// RFC 1950 header: CM = 8, and the check bits make it a multiple of 31.
fn is_zlib(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] & 0x0f == 8 && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn header(name: &str, value: &str) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn stacked_and_alternative_codings_decode() {
        let plain = b"the reflected value".to_vec();
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), Default::default());
        zlib.write_all(&plain).unwrap();
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), Default::default());
        raw.write_all(&plain).unwrap();
        let cases: Vec<(Vec<Header>, Vec<u8>)> = vec![
            (vec![header("Content-Encoding", "gzip")], gzip(&plain)),
            (vec![header("content-encoding", "x-gzip")], gzip(&plain)),
            (
                vec![header("content-encoding", "gzip, gzip")],
                gzip(&gzip(&plain)),
            ),
            (
                vec![
                    header("content-encoding", "gzip"),
                    header("content-encoding", "gzip"),
                ],
                gzip(&gzip(&plain)),
            ),
            (
                vec![header("content-encoding", "deflate")],
                zlib.finish().unwrap(),
            ),
            (
                vec![header("content-encoding", "deflate")],
                raw.finish().unwrap(),
            ),
            (
                vec![header("transfer-encoding", "gzip, chunked")],
                gzip(&plain),
            ),
            (
                vec![
                    header("content-encoding", "gzip"),
                    header("transfer-encoding", "gzip"),
                ],
                gzip(&gzip(&plain)),
            ),
            (vec![header("content-encoding", "identity")], plain.clone()),
        ];
        for (mut headers, body) in cases {
            let what = format!("{headers:?}");
            let out = decode(&mut headers, body, 1024).unwrap();
            assert_eq!(out, plain, "{what}");
            assert!(
                !headers.iter().any(|h| h.value.contains("gzip")),
                "{what}: the headers still describe the encoded form"
            );
        }
    }

    #[test]
    fn unknown_corrupt_and_oversized_codings_are_refused() {
        let code = |coding: &str, body: Vec<u8>, limit| {
            decode(&mut vec![header("content-encoding", coding)], body, limit)
                .unwrap_err()
                .code()
        };
        use crate::codes;
        assert_eq!(
            code("compress", b"x".to_vec(), 100),
            codes::EGRESS_UNSUPPORTED_ENCODING
        );
        assert_eq!(
            code("x-unknown", b"x".to_vec(), 100),
            codes::EGRESS_UNSUPPORTED_ENCODING
        );
        assert_eq!(
            code("gzip", b"not gzip".to_vec(), 100),
            codes::EGRESS_UNSUPPORTED_ENCODING
        );
        assert_eq!(
            code("br", b"\xff\xff".to_vec(), 100),
            codes::EGRESS_UNSUPPORTED_ENCODING
        );
        assert_eq!(
            code("zstd", b"nope".to_vec(), 100),
            codes::EGRESS_UNSUPPORTED_ENCODING
        );
        // A bomb: 1 MiB of zeros in about a kilobyte.
        let bomb = gzip(&vec![0u8; 1 << 20]);
        assert!(bomb.len() < 4096);
        assert_eq!(code("gzip", bomb, 51_200), codes::EGRESS_RESPONSE_TOO_LARGE);
    }
}
