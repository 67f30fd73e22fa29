//! Tags: TagResource, UntagResource, ListTagsOfResource, and the Tags member of CreateTable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use model::limits::{TAGS_PER_RESOURCE_MAX, TAG_KEY_LEN_MAX, TAG_VALUE_LEN_MAX};
use table::Command;

use crate::error::ApiError;
use crate::request::{json_body, propose};
use crate::tables::{expect_table, load};
use crate::validate::Violations;
use crate::wire::parse_body;
use crate::Region;

/// Longest ResourceArn DynamoDB accepts.
const RESOURCE_ARN_LEN_MAX: usize = 1283;

/// One tag on the wire.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagWire {
    key: Option<String>,
    value: Option<String>,
}

/// The prefix of the tags AWS assigns, which a user can neither add nor remove (in any case).
const RESERVED_TAG_PREFIX: &str = "aws:";

/// DynamoDB's tag character set: letters, numbers, white space and `+ - = . _ : /`.
fn tag_text_allowed(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "+-=._:/".contains(c))
}

fn reserved_tag_key(key: &str) -> bool {
    key.get(..RESERVED_TAG_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_TAG_PREFIX))
}

/// The tagging restrictions beyond the members' lengths: the character set and the reserved
/// `aws:` prefix.
fn check_tag_key(key: &str) -> Result<(), ApiError> {
    if reserved_tag_key(key) {
        return Err(reserved_key_error(key));
    }
    if !tag_text_allowed(key) {
        return Err(ApiError::Validation(format!(
            "One or more parameter values were invalid: Invalid characters in tag key: {key}"
        )));
    }
    Ok(())
}

fn reserved_key_error(key: &str) -> ApiError {
    ApiError::Validation(format!(
        "One or more parameter values were invalid: Tag keys starting with 'aws:' are reserved for system use: {key}"
    ))
}

fn check_tag_value(value: &str) -> Result<(), ApiError> {
    if !tag_text_allowed(value) {
        return Err(ApiError::Validation(format!(
            "One or more parameter values were invalid: Invalid characters in tag value: {value}"
        )));
    }
    Ok(())
}

/// Validates a Tags list into a map (a later duplicate key wins, as DynamoDB does). Member
/// constraint violations are recorded in `v`; the tagging restrictions are checked once the
/// members are well formed.
pub(crate) fn decode_tags(
    v: &mut Violations,
    tags: &[TagWire],
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for (i, tag) in tags.iter().enumerate() {
        let field = format!("tags.{}.member", i + 1);
        let key = v.required(&format!("{field}.key"), &tag.key);
        let value = v.required(&format!("{field}.value"), &tag.value);
        if let Some(key) = key {
            v.length(
                &format!("{field}.key"),
                key,
                key.chars().count(),
                1,
                TAG_KEY_LEN_MAX,
            );
        }
        if let Some(value) = value {
            v.length(
                &format!("{field}.value"),
                value,
                value.chars().count(),
                0,
                TAG_VALUE_LEN_MAX,
            );
        }
        if let (Some(key), Some(value)) = (key, value) {
            out.insert(key.clone(), value.clone());
        }
    }
    if v.is_empty() {
        for tag in tags {
            if let (Some(key), Some(value)) = (&tag.key, &tag.value) {
                check_tag_key(key)?;
                // Meridian's own `meridian:replicas` holds a comma-separated region list,
                // which CreateTable validates as such.
                if key != crate::global::REPLICAS_TAG {
                    check_tag_value(value)?;
                }
            }
        }
    }
    if out.len() > TAGS_PER_RESOURCE_MAX {
        return Err(ApiError::LimitExceeded(format!(
            "The number of tags on a resource cannot exceed {TAGS_PER_RESOURCE_MAX}"
        )));
    }
    Ok(out)
}

/// The table name in a table ARN of this region, or the error DynamoDB gives.
fn arn_table<'a>(region: &dyn Region, arn: &'a str) -> Result<&'a str, ApiError> {
    let invalid = || {
        ApiError::Validation(format!(
            "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
        ))
    };
    let mut parts = arn.splitn(6, ':');
    let (
        Some("arn"),
        Some(_partition),
        Some("dynamodb"),
        Some(arn_region),
        Some(_account),
        Some(resource),
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return Err(invalid());
    };
    let name = resource.strip_prefix("table/").ok_or_else(invalid)?;
    if name.is_empty() || name.contains('/') {
        return Err(invalid());
    }
    if arn_region != region.region_name() {
        return Err(ApiError::ResourceNotFound(format!(
            "Requested resource not found: ResourcArn: {arn} not found"
        )));
    }
    Ok(name)
}

fn check_arn(v: &mut Violations, arn: &Option<String>) {
    if let Some(arn) = v.required("resourceArn", arn) {
        v.length("resourceArn", arn, arn.len(), 1, RESOURCE_ARN_LEN_MAX);
    }
}

/// A validated TagResource.
#[derive(Debug)]
pub struct TagResource {
    arn: String,
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceWire {
    resource_arn: Option<String>,
    tags: Option<Vec<TagWire>>,
}

/// Decodes TagResource.
pub(crate) fn decode_tag(body: &[u8]) -> Result<TagResource, ApiError> {
    let wire: TagResourceWire = parse_body(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, &wire.resource_arn);
    let tags = match &wire.tags {
        None => {
            v.null("tags");
            BTreeMap::new()
        }
        Some(tags) => decode_tags(&mut v, tags)?,
    };
    v.finish()?;
    if wire.tags.as_ref().is_some_and(Vec::is_empty) {
        return Err(ApiError::validation(
            "Atleast one Tag needs to be provided as Input.",
        ));
    }
    Ok(TagResource {
        arn: wire.resource_arn.unwrap_or_default(),
        tags,
    })
}

/// Runs TagResource.
pub(crate) async fn tag(region: &dyn Region, req: TagResource) -> Result<Vec<u8>, ApiError> {
    let name = arn_table(region, &req.arn)?.to_owned();
    let current = load(region, &name)?;
    let merged = current
        .tags
        .keys()
        .chain(req.tags.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if merged > TAGS_PER_RESOURCE_MAX {
        return Err(ApiError::LimitExceeded(format!(
            "The number of tags on a resource cannot exceed {TAGS_PER_RESOURCE_MAX}"
        )));
    }
    let command = Command::TagResource {
        name,
        tags: req.tags.into_iter().collect(),
    };
    expect_table(propose(region, &command).await?)?;
    Ok(b"{}".to_vec())
}

/// A validated UntagResource.
#[derive(Debug)]
pub struct UntagResource {
    arn: String,
    keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagResourceWire {
    resource_arn: Option<String>,
    tag_keys: Option<Vec<String>>,
}

/// Decodes UntagResource.
pub(crate) fn decode_untag(body: &[u8]) -> Result<UntagResource, ApiError> {
    let wire: UntagResourceWire = parse_body(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, &wire.resource_arn);
    if let Some(keys) = v.required("tagKeys", &wire.tag_keys) {
        for (i, key) in keys.iter().enumerate() {
            let field = format!("tagKeys.{}.member", i + 1);
            v.length(&field, key, key.chars().count(), 1, TAG_KEY_LEN_MAX);
        }
    }
    v.finish()?;
    let keys = wire.tag_keys.as_deref().unwrap_or_default();
    if keys.is_empty() {
        return Err(ApiError::validation(
            "Atleast one Tag Key needs to be provided as Input.",
        ));
    }
    // Removing a key that is not there is no error, whatever its characters; the tags AWS
    // assigns cannot be removed.
    if let Some(key) = keys.iter().find(|k| reserved_tag_key(k)) {
        return Err(reserved_key_error(key));
    }
    Ok(UntagResource {
        arn: wire.resource_arn.unwrap_or_default(),
        keys: wire.tag_keys.unwrap_or_default(),
    })
}

/// Runs UntagResource.
pub(crate) async fn untag(region: &dyn Region, req: UntagResource) -> Result<Vec<u8>, ApiError> {
    let name = arn_table(region, &req.arn)?.to_owned();
    load(region, &name)?;
    let command = Command::UntagResource {
        name,
        keys: req.keys,
    };
    expect_table(propose(region, &command).await?)?;
    Ok(b"{}".to_vec())
}

/// A validated ListTagsOfResource.
#[derive(Debug)]
pub struct ListTags {
    arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsWire {
    resource_arn: Option<String>,
}

/// Decodes ListTagsOfResource (NextToken is accepted and ignored: one page holds every tag).
pub(crate) fn decode_list_tags(body: &[u8]) -> Result<ListTags, ApiError> {
    let wire: ListTagsWire = parse_body(body)?;
    let mut v = Violations::new();
    check_arn(&mut v, &wire.resource_arn);
    v.finish()?;
    Ok(ListTags {
        arn: wire.resource_arn.unwrap_or_default(),
    })
}

/// Runs ListTagsOfResource.
pub(crate) fn list_tags(region: &dyn Region, req: &ListTags) -> Result<Vec<u8>, ApiError> {
    let name = arn_table(region, &req.arn)?;
    let meta = load(region, name)?;
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Tag<'a> {
        key: &'a str,
        value: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        tags: Vec<Tag<'a>>,
    }
    json_body(&Output {
        tags: meta
            .tags
            .iter()
            .map(|(key, value)| Tag { key, value })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag_error(body: serde_json::Value) -> String {
        match decode_tag(&serde_json::to_vec(&body).unwrap()) {
            Err(e) => e.to_string(),
            Ok(r) => panic!("expected an error, got {r:?}"),
        }
    }

    fn untag_error(body: serde_json::Value) -> String {
        match decode_untag(&serde_json::to_vec(&body).unwrap()) {
            Err(e) => e.to_string(),
            Ok(r) => panic!("expected an error, got {r:?}"),
        }
    }

    const ARN: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/t";

    #[test]
    fn t10_tagging_restrictions() {
        let tags = |tags: serde_json::Value| serde_json::json!({"ResourceArn": ARN, "Tags": tags});
        assert_eq!(
            tag_error(tags(serde_json::json!([]))),
            "Atleast one Tag needs to be provided as Input."
        );
        assert_eq!(
            tag_error(tags(serde_json::json!([{"Key": "aws:owner", "Value": "x"}]))),
            "One or more parameter values were invalid: Tag keys starting with 'aws:' are reserved for system use: aws:owner"
        );
        assert_eq!(
            tag_error(tags(serde_json::json!([{"Key": "AWS:owner", "Value": "x"}]))),
            "One or more parameter values were invalid: Tag keys starting with 'aws:' are reserved for system use: AWS:owner"
        );
        assert_eq!(
            tag_error(tags(serde_json::json!([{"Key": "a!", "Value": "x"}]))),
            "One or more parameter values were invalid: Invalid characters in tag key: a!"
        );
        assert_eq!(
            tag_error(tags(serde_json::json!([{"Key": "a", "Value": "x;y"}]))),
            "One or more parameter values were invalid: Invalid characters in tag value: x;y"
        );
        // Meridian's replica list is a comma-separated tag value of its own.
        let ok = serde_json::json!({"ResourceArn": ARN, "Tags": [{"Key": "meridian:replicas", "Value": "us-east-1,eu-west-1"}]});
        assert!(decode_tag(&serde_json::to_vec(&ok).unwrap()).is_ok());
        // Length violations come first, all of them together.
        assert_eq!(
            tag_error(tags(serde_json::json!([{"Key": "a!", "Value": "x"}, {"Key": "", "Value": "v".repeat(257)}]))),
            format!(
                "2 validation errors detected: Value '' at 'tags.2.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '{}' at 'tags.2.member.value' failed to satisfy constraint: Member must have length less than or equal to 256",
                "v".repeat(257)
            )
        );
        let many: Vec<serde_json::Value> = (0..51)
            .map(|i| serde_json::json!({"Key": format!("k{i}"), "Value": "v"}))
            .collect();
        assert_eq!(
            tag_error(tags(serde_json::Value::Array(many))),
            "The number of tags on a resource cannot exceed 50"
        );
        // Every documented character is allowed, in keys and values; an empty value too.
        let ok = decode_tag(
            &serde_json::to_vec(&tags(serde_json::json!([
                {"Key": "Team name +-=._:/ 1", "Value": ""},
                {"Key": "ключ", "Value": "значение 2"},
                {"Key": "dup", "Value": "first"},
                {"Key": "dup", "Value": "second"}
            ])))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(ok.tags.len(), 3);
        assert_eq!(ok.tags["dup"], "second", "a later duplicate wins");
    }

    #[test]
    fn t10_untagging_restrictions() {
        let keys =
            |keys: serde_json::Value| serde_json::json!({"ResourceArn": ARN, "TagKeys": keys});
        assert_eq!(
            untag_error(keys(serde_json::json!([]))),
            "Atleast one Tag Key needs to be provided as Input."
        );
        assert_eq!(
            untag_error(keys(serde_json::json!(["team", "aws:cloudformation:stack-name"]))),
            "One or more parameter values were invalid: Tag keys starting with 'aws:' are reserved for system use: aws:cloudformation:stack-name"
        );
        assert!(
            decode_untag(&serde_json::to_vec(&keys(serde_json::json!(["a!"]))).unwrap()).is_ok()
        );
    }
}
