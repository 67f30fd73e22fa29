"""Opt-in SigV4 verification (`--require-auth`) as boto3 sees it: the configured key works,
a wrong key or secret is refused with DynamoDB's exceptions."""

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from conftest import CREDENTIALS, REGION, Meridian

KEY_SPEC = f"{CREDENTIALS['aws_access_key_id']}:{CREDENTIALS['aws_secret_access_key']}"


@pytest.fixture(scope="module")
def secured():
    server = Meridian("--require-auth", "--auth-key", KEY_SPEC)
    yield server
    server.stop()


def client_for(endpoint: str, key: str, secret: str):
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_configured_key_is_accepted(secured):
    client = client_for(secured.endpoint, CREDENTIALS["aws_access_key_id"], CREDENTIALS["aws_secret_access_key"])
    client.create_table(
        TableName="auth_ok",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName="auth_ok", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    item = client.get_item(TableName="auth_ok", Key={"pk": {"S": "a"}})["Item"]
    assert item["v"] == {"N": "1"}
    assert "auth_ok" in client.list_tables()["TableNames"]


def test_unknown_key_is_unrecognized_client(secured):
    client = client_for(secured.endpoint, "AKIDNOBODY", CREDENTIALS["aws_secret_access_key"])
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.list_tables()
    assert error_code(excinfo) == "UnrecognizedClientException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert excinfo.value.response["Error"]["Message"] == "The security token included in the request is invalid."


def test_wrong_secret_is_invalid_signature(secured):
    client = client_for(secured.endpoint, CREDENTIALS["aws_access_key_id"], "not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.list_tables()
    assert error_code(excinfo) == "InvalidSignatureException"
    assert excinfo.value.response["Error"]["Message"].startswith(
        "The request signature we calculated does not match the signature you provided."
    )
