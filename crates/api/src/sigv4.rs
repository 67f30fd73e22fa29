//! AWS Signature Version 4.
//!
//! By default Meridian accepts any credentials and reads only the region from the credential
//! scope (so a shared port can route requests by region). With `--require-auth` (or `[auth]
//! require = true`) every DynamoDB and DynamoDB Streams request must be signed with one of
//! the configured access keys, and is checked as DynamoDB checks it:
//!
//! 1. no `Authorization` header: MissingAuthenticationTokenException;
//! 2. a header that is not a complete `AWS4-HMAC-SHA256` one, or no `X-Amz-Date`/`Date`:
//!    IncompleteSignatureException;
//! 3. an access key that is not configured: UnrecognizedClientException;
//! 4. a request time more than 15 minutes from the server's clock: InvalidSignatureException
//!    ("Signature expired" / "Signature not yet current");
//! 5. a signature that differs from the one computed here over the canonical request (method,
//!    path, query, the signed headers, the SHA-256 of the body as sent, i.e. before any
//!    `Content-Encoding` is undone), the string to sign and the HMAC-SHA256 key chain:
//!    InvalidSignatureException. The comparison is constant-time.
//!
//! All of them are HTTP 400, as DynamoDB answers them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use hmac::{Hmac, Mac as _};
use http::{HeaderMap, Method, Uri};
use sha2::{Digest as _, Sha256};

use crate::error::{ApiError, AuthFailure};

/// The only signing algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The service name DynamoDB and DynamoDB Streams requests are signed for.
pub const SERVICE: &str = "dynamodb";
/// How far a request's time may be from the server's, either way (DynamoDB's 15 minutes).
pub const MAX_SKEW_SECS: i64 = 15 * 60;
/// The payload hash a client may sign instead of the body's.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

type HmacSha256 = Hmac<Sha256>;

/// The region of an `Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/
/// dynamodb/aws4_request, SignedHeaders=…, Signature=…` header, if it has one.
pub fn credential_region(authorization: &str) -> Option<&str> {
    let rest = authorization.strip_prefix(ALGORITHM)?;
    let credential = rest
        .split([',', ' '])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    // access-key / date / region / service / aws4_request; access keys have no '/'.
    let mut scope = credential.split('/');
    let _access_key = scope.next()?;
    let _date = scope.next()?;
    let region = scope.next()?;
    let _service = scope.next()?;
    (!region.is_empty()).then_some(region)
}

/// Why an access key specification (`AKID:SECRET`) is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessKeyError {
    #[error("an access key must look like ACCESS_KEY_ID:SECRET_ACCESS_KEY")]
    Shape,
    #[error("access key ids are 1 to 128 letters and digits: {0:?}")]
    KeyId(String),
    #[error("the secret of access key {0} is empty")]
    EmptySecret(String),
    #[error("access key {0} is configured twice")]
    Duplicate(String),
}

/// The access keys requests may be signed with: access key id → secret access key.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AccessKeys {
    keys: HashMap<String, Arc<str>>,
}

impl std::fmt::Debug for AccessKeys {
    // Never print the secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("AccessKeys").field("ids", &ids).finish()
    }
}

impl AccessKeys {
    /// The keys, validated: ids of letters and digits (as AWS access key ids are), non-empty
    /// secrets, no id twice.
    pub fn new(
        keys: impl IntoIterator<Item = (String, String)>,
    ) -> Result<AccessKeys, AccessKeyError> {
        let mut map = HashMap::new();
        for (id, secret) in keys {
            let valid_id =
                !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric());
            if !valid_id {
                return Err(AccessKeyError::KeyId(id));
            }
            if secret.is_empty() {
                return Err(AccessKeyError::EmptySecret(id));
            }
            if map.insert(id.clone(), Arc::from(secret)).is_some() {
                return Err(AccessKeyError::Duplicate(id));
            }
        }
        Ok(AccessKeys { keys: map })
    }

    /// Parses `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (the secret may itself contain `:`).
    pub fn parse_pair(spec: &str) -> Result<(String, String), AccessKeyError> {
        let (id, secret) = spec.split_once(':').ok_or(AccessKeyError::Shape)?;
        Ok((id.trim().to_owned(), secret.to_owned()))
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn secret(&self, id: &str) -> Option<&str> {
        self.keys.get(id).map(|s| &**s)
    }
}

/// The parts of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authorization<'a> {
    access_key: &'a str,
    /// `YYYYMMDD`.
    date: &'a str,
    region: &'a str,
    service: &'a str,
    /// Lower-case header names, in the order given (which the client sorted).
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn incomplete(message: String) -> ApiError {
    ApiError::Auth(AuthFailure::IncompleteSignature, message)
}

fn invalid(message: String) -> ApiError {
    ApiError::Auth(AuthFailure::InvalidSignature, message)
}

/// DynamoDB's message for a signature that does not match.
pub const SIGNATURE_MISMATCH_MESSAGE: &str = "The request signature we calculated does not \
     match the signature you provided. Check your AWS Secret Access Key and signing method. \
     Consult the service documentation for details.";
/// DynamoDB's message for a request with no `Authorization`.
pub const MISSING_TOKEN_MESSAGE: &str = "Request is missing Authentication Token";
/// DynamoDB's message for an access key it does not know.
pub const UNRECOGNIZED_CLIENT_MESSAGE: &str = "The security token included in the request is \
     invalid.";

fn parse_authorization(header: &str) -> Result<Authorization<'_>, ApiError> {
    let Some(rest) = header.strip_prefix(ALGORITHM) else {
        let algorithm = header.split_whitespace().next().unwrap_or("");
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'. Authorization={header}"
        )));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v.trim());
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v.trim());
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v.trim());
        }
    }
    let mut missing = String::new();
    for (name, value) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ] {
        if value.is_none_or(str::is_empty) {
            let _ = write!(
                missing,
                "Authorization header requires '{name}' parameter. "
            );
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature), true) =
        (credential, signed_headers, signature, missing.is_empty())
    else {
        return Err(incomplete(format!("{missing}Authorization={header}")));
    };
    // access-key/date/region/service/aws4_request
    let mut scope = credential.rsplitn(5, '/');
    let (Some(terminator), Some(service), Some(region), Some(date), Some(access_key)) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid region. Authorization={header}"
        )));
    };
    if terminator != "aws4_request" {
        return Err(invalid(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not \
             '{terminator}'."
        )));
    }
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

/// A request whose `Authorization` header names a known key and whose time is current; its
/// signature is checked by [`PendingSignature::verify`] once the body is in.
#[derive(Debug)]
pub struct PendingSignature<'a> {
    authorization: Authorization<'a>,
    /// `YYYYMMDDTHHMMSSZ`.
    amz_date: String,
    secret: &'a str,
}

/// Checks what can be checked before the body is read: that the request is signed, with a
/// known key, at a time within [`MAX_SKEW_SECS`] of `now_secs` (Unix seconds).
pub fn check_headers<'a>(
    keys: &'a AccessKeys,
    headers: &'a HeaderMap,
    now_secs: i64,
) -> Result<PendingSignature<'a>, ApiError> {
    let Some(header) = headers.get(http::header::AUTHORIZATION) else {
        return Err(ApiError::Auth(
            AuthFailure::MissingAuthenticationToken,
            MISSING_TOKEN_MESSAGE.into(),
        ));
    };
    let header = header
        .to_str()
        .map_err(|_| incomplete("The Authorization header is not valid ASCII.".into()))?;
    let authorization = parse_authorization(header)?;
    let amz_date = match headers.get("x-amz-date").and_then(|v| v.to_str().ok()) {
        Some(value) => value.trim().to_owned(),
        None => match headers
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
        {
            Some(time) => {
                let secs = time
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                format_amz_date(secs)
            }
            None => {
                return Err(incomplete(format!(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a \
                     'Date' header. Authorization={header}"
                )))
            }
        },
    };
    let Some(secret) = keys.secret(authorization.access_key) else {
        return Err(ApiError::Auth(
            AuthFailure::UnrecognizedClient,
            UNRECOGNIZED_CLIENT_MESSAGE.into(),
        ));
    };
    let Some(signed_at) = parse_amz_date(&amz_date) else {
        return Err(incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    if signed_at < now_secs - MAX_SKEW_SECS {
        return Err(invalid(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            format_amz_date(now_secs - MAX_SKEW_SECS),
            format_amz_date(now_secs)
        )));
    }
    if signed_at > now_secs + MAX_SKEW_SECS {
        return Err(invalid(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            format_amz_date(now_secs + MAX_SKEW_SECS),
            format_amz_date(now_secs)
        )));
    }
    if !amz_date.starts_with(authorization.date) || authorization.date.len() != 8 {
        return Err(invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{}' != '{}', from '{amz_date}'.",
            authorization.date,
            &amz_date[..8.min(amz_date.len())]
        )));
    }
    if authorization.service != SERVICE {
        return Err(invalid(format!(
            "Credential should be scoped to correct service: '{SERVICE}'. "
        )));
    }
    Ok(PendingSignature {
        authorization,
        amz_date,
        secret,
    })
}

impl PendingSignature<'_> {
    /// Recomputes the signature over the request as received (`body` as sent on the wire)
    /// and compares it with the given one in constant time.
    pub fn verify(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), ApiError> {
        let mismatch = || invalid(SIGNATURE_MISMATCH_MESSAGE.into());
        let given = hex::decode(self.authorization.signature).map_err(|_| mismatch())?;
        let auth = &self.authorization;
        let canonical = canonical_request(method, uri, headers, &auth.signed_headers, body);
        let scope = format!(
            "{}/{}/{}/aws4_request",
            auth.date, auth.region, auth.service
        );
        let string_to_sign = format!(
            "{ALGORITHM}\n{}\n{scope}\n{}",
            self.amz_date,
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let key = signing_key(self.secret, auth.date, auth.region, auth.service);
        let mut mac = new_mac(&key);
        mac.update(string_to_sign.as_bytes());
        mac.verify_slice(&given).map_err(|_| mismatch())
    }
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    <HmacSha256 as hmac::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as hmac::KeyInit>::new(&Default::default()))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = new_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The SigV4 signing key: HMAC chain over date, region, service and `aws4_request`.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The canonical request (method, path, query, signed headers, payload hash).
fn canonical_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &[&str],
    body: &[u8],
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(method.as_str());
    out.push('\n');
    let path = uri.path();
    if path.is_empty() {
        out.push('/');
    } else {
        // The path as sent (already percent-encoded) is encoded once more, as every AWS
        // service but S3 expects.
        encode_into(&mut out, path.as_bytes(), true);
    }
    out.push('\n');
    out.push_str(&canonical_query(uri.query().unwrap_or("")));
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        for value in headers.get_all(*name) {
            if !first {
                out.push(',');
            }
            first = false;
            let text = String::from_utf8_lossy(value.as_bytes());
            let mut words = text.split_whitespace();
            if let Some(word) = words.next() {
                out.push_str(word);
            }
            for word in words {
                out.push(' ');
                out.push_str(word);
            }
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    let declared = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok());
    if declared == Some(UNSIGNED_PAYLOAD) {
        out.push_str(UNSIGNED_PAYLOAD);
    } else {
        out.push_str(&hex::encode(Sha256::digest(body)));
    }
    out
}

/// Query parameters decoded, re-encoded the SigV4 way and sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let mut key = String::new();
            encode_into(&mut key, &percent_decode(k), false);
            let mut value = String::new();
            encode_into(&mut value, &percent_decode(v), false);
            (key, value)
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// SigV4's URI encoding: unreserved characters stay, everything else is `%XX` (upper-case);
/// `/` stays when `keep_slash`.
fn encode_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    for &b in bytes {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/');
        if keep {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Unix seconds of an ISO-8601 basic-format time, `YYYYMMDDTHHMMSSZ`.
fn parse_amz_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(model::table::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// `YYYYMMDDTHHMMSSZ` for Unix seconds.
pub fn format_amz_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = model::table::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The current Unix time in seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_region_from_credential_scope() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(credential_region(header), Some("eu-west-1"));
        let compact = "AWS4-HMAC-SHA256 Credential=a/20240101/us-east-1/dynamodb/aws4_request,SignedHeaders=host,Signature=x";
        assert_eq!(credential_region(compact), Some("us-east-1"));
    }

    #[test]
    fn t10_missing_or_malformed() {
        assert_eq!(credential_region(""), None);
        assert_eq!(credential_region("Basic abc"), None);
        assert_eq!(credential_region("AWS4-HMAC-SHA256 Credential=a/b"), None);
        assert_eq!(
            credential_region("AWS4-HMAC-SHA256 Credential=a/20240101//dynamodb/aws4_request"),
            None
        );
    }

    #[test]
    fn t10_dates_round_trip() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        for secs in [0, 951_782_400, 1_709_251_199, 4_102_444_800] {
            assert_eq!(parse_amz_date(&format_amz_date(secs)), Some(secs));
        }
        assert_eq!(parse_amz_date("2015-08-30T12:36:00Z"), None);
        assert_eq!(parse_amz_date("20151330T123600Z"), None);
    }

    /// AWS's published example (the `get-vanilla-query-order-key-case` suite's secret and
    /// scope): the signing key and a full request.
    #[test]
    fn t10_aws_example_signature() {
        // From the SigV4 documentation: "Deriving a signing key".
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    fn signed_request(secret: &str, amz_date: &str, body: &[u8]) -> (Method, Uri, HeaderMap) {
        let method = Method::POST;
        let uri: Uri = "/".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "localhost:8000".parse().unwrap());
        headers.insert("x-amz-date", amz_date.parse().unwrap());
        headers.insert(
            "x-amz-target",
            "DynamoDB_20120810.ListTables".parse().unwrap(),
        );
        let signed = ["host", "x-amz-date", "x-amz-target"];
        let canonical = canonical_request(&method, &uri, &headers, &signed, body);
        let date = &amz_date[..8];
        let scope = format!("{date}/us-east-1/dynamodb/aws4_request");
        let sts = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let key = signing_key(secret, date, "us-east-1", "dynamodb");
        let signature = hex::encode(hmac(&key, sts.as_bytes()));
        let auth = format!(
            "{ALGORITHM} Credential=AKIDTEST/{scope}, SignedHeaders={}, Signature={signature}",
            signed.join(";")
        );
        headers.insert("authorization", auth.parse().unwrap());
        (method, uri, headers)
    }

    fn keys() -> AccessKeys {
        AccessKeys::new([("AKIDTEST".to_owned(), "s3cret".to_owned())]).unwrap()
    }

    fn failure(result: Result<impl std::fmt::Debug, ApiError>) -> (AuthFailure, String) {
        match result {
            Err(ApiError::Auth(kind, message)) => (kind, message),
            other => panic!("expected an auth failure, got {other:?}"),
        }
    }

    #[test]
    fn t10_verifies_and_rejects() {
        let now = parse_amz_date("20240301T120000Z").unwrap();
        let keys = keys();
        let body = br#"{}"#;
        let (method, uri, headers) = signed_request("s3cret", "20240301T120000Z", body);
        let pending = check_headers(&keys, &headers, now).unwrap();
        pending.verify(&method, &uri, &headers, body).unwrap();
        // A different body, or a different secret: no match.
        let (kind, message) = failure(pending.verify(&method, &uri, &headers, b"{\"x\":1}"));
        assert_eq!(kind, AuthFailure::InvalidSignature);
        assert_eq!(message, SIGNATURE_MISMATCH_MESSAGE);
        let (method, uri, headers) = signed_request("wrong", "20240301T120000Z", body);
        let pending = check_headers(&keys, &headers, now).unwrap();
        let (kind, _) = failure(pending.verify(&method, &uri, &headers, body));
        assert_eq!(kind, AuthFailure::InvalidSignature);
    }

    #[test]
    fn t10_header_checks() {
        let now = parse_amz_date("20240301T120000Z").unwrap();
        let keys = keys();
        let (kind, message) = failure(check_headers(&keys, &HeaderMap::new(), now));
        assert_eq!(kind, AuthFailure::MissingAuthenticationToken);
        assert_eq!(message, MISSING_TOKEN_MESSAGE);

        let other = AccessKeys::new([("OTHER".to_owned(), "x".to_owned())]).unwrap();
        let (_, _, headers) = signed_request("s3cret", "20240301T120000Z", b"");
        let (kind, message) = failure(check_headers(&other, &headers, now));
        assert_eq!(kind, AuthFailure::UnrecognizedClient);
        assert_eq!(message, UNRECOGNIZED_CLIENT_MESSAGE);

        let (_, _, headers) = signed_request("s3cret", "20240301T113000Z", b"");
        let (kind, message) = failure(check_headers(&keys, &headers, now));
        assert_eq!(kind, AuthFailure::InvalidSignature);
        assert_eq!(
            message,
            "Signature expired: 20240301T113000Z is now earlier than 20240301T114500Z \
             (20240301T120000Z - 15 min.)"
        );
        let (_, _, headers) = signed_request("s3cret", "20240301T123000Z", b"");
        let (_, message) = failure(check_headers(&keys, &headers, now));
        assert_eq!(
            message,
            "Signature not yet current: 20240301T123000Z is still later than \
             20240301T121500Z (20240301T120000Z + 15 min.)"
        );
        // Within the window either way.
        let (_, _, headers) = signed_request("s3cret", "20240301T121400Z", b"");
        assert!(check_headers(&keys, &headers, now).is_ok());

        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240301/us-east-1/dynamodb/aws4_request"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amz-date", "20240301T120000Z".parse().unwrap());
        let (kind, message) = failure(check_headers(&keys, &headers, now));
        assert_eq!(kind, AuthFailure::IncompleteSignature);
        assert!(
            message.contains("requires 'Signature' parameter"),
            "{message}"
        );
        headers.remove("x-amz-date");
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240301/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=host, Signature=00"
                .parse()
                .unwrap(),
        );
        let (kind, message) = failure(check_headers(&keys, &headers, now));
        assert_eq!(kind, AuthFailure::IncompleteSignature);
        assert!(message.contains("'X-Amz-Date' or a 'Date'"), "{message}");
    }

    #[test]
    fn t10_canonical_pieces() {
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(canonical_query("k=a%20b&x"), "k=a%20b&x=");
        let mut out = String::new();
        encode_into(&mut out, b"/a b/%41", true);
        assert_eq!(out, "/a%20b/%2541");
    }

    #[test]
    fn t10_access_keys() {
        assert_eq!(
            AccessKeys::parse_pair("AKID:se:cret").unwrap(),
            ("AKID".to_owned(), "se:cret".to_owned())
        );
        assert!(AccessKeys::parse_pair("nocolon").is_err());
        assert!(AccessKeys::new([("bad/id".to_owned(), "x".to_owned())]).is_err());
        assert!(AccessKeys::new([("ok".to_owned(), String::new())]).is_err());
        let dup = [
            ("A".to_owned(), "x".to_owned()),
            ("A".to_owned(), "y".to_owned()),
        ];
        assert!(AccessKeys::new(dup).is_err());
        let debug = format!("{:?}", keys());
        assert!(!debug.contains("s3cret"));
    }
}
