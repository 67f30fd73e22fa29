//! SigV4: Meridian accepts any credentials (it does not verify signatures), but it reads the
//! region from the credential scope so a shared port can later route requests by region.

/// The region of an `Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/
/// dynamodb/aws4_request, SignedHeaders=…, Signature=…` header, if it has one.
pub fn credential_region(authorization: &str) -> Option<&str> {
    let rest = authorization.strip_prefix("AWS4-HMAC-SHA256")?;
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
}
