"""DynamoDB Streams and TTL with boto3: a stream consumer reading every shard of a table's
stream, the record shapes, and a TTL delete carried with the service identity."""

import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ADMIN_HEADERS, CREDENTIALS, REGION


@pytest.fixture
def streams(endpoint):
    return boto3.client(
        "dynamodbstreams",
        endpoint_url=endpoint,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30),
        **CREDENTIALS,
    )


def consume(streams, stream_arn, want, timeout_s=10):
    """A consumer as people write them: every shard from TRIM_HORIZON, GetRecords until done."""
    records = []
    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    deadline = time.time() + timeout_s
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator and len(records) < want and time.time() < deadline:
            page = streams.get_records(ShardIterator=iterator, Limit=100)
            records.extend(page["Records"])
            iterator = page.get("NextShardIterator")
            if not page["Records"]:
                time.sleep(0.05)
    return records


def test_stream_consumer_sees_every_write_in_order(client, streams, table_name):
    desc = client.create_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    stream_arn = desc["LatestStreamArn"]
    assert desc["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert stream_arn.endswith("/stream/" + desc["LatestStreamLabel"])
    listed = streams.list_streams(TableName=table_name)["Streams"]
    assert [s["StreamArn"] for s in listed] == [stream_arn]

    for i in range(5):
        client.put_item(TableName=table_name, Item={"pk": {"S": "a"}, "n": {"N": str(i)}})
    client.put_item(TableName=table_name, Item={"pk": {"S": "b"}, "n": {"N": "0"}})
    client.delete_item(TableName=table_name, Key={"pk": {"S": "b"}})

    records = consume(streams, stream_arn, want=7)
    assert len(records) == 7
    assert [r["eventName"] for r in records] == ["INSERT"] + ["MODIFY"] * 4 + ["INSERT", "REMOVE"]
    assert [r["dynamodb"]["NewImage"]["n"]["N"] for r in records[:5]] == ["0", "1", "2", "3", "4"]
    assert [r["dynamodb"]["OldImage"]["n"]["N"] for r in records[1:5]] == ["0", "1", "2", "3"]
    assert "NewImage" not in records[6]["dynamodb"]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 7
    assert len({r["eventID"] for r in records}) == 7
    for r in records:
        assert r["eventVersion"] == "1.1"
        assert r["eventSource"] == "aws:dynamodb"
        assert r["awsRegion"] == REGION
        assert r["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert r["dynamodb"]["SizeBytes"] > 0
        assert "ApproximateCreationDateTime" in r["dynamodb"]

    with pytest.raises(ClientError) as exc:
        streams.get_records(ShardIterator="garbage")
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_ttl_delete_in_stream_with_service_identity(client, streams, endpoint, table_name):
    desc = client.create_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "OLD_IMAGE"},
    )["TableDescription"]
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    client.put_item(TableName=table_name, Item={"pk": {"S": "gone"}, "expires": {"N": str(int(time.time()) - 5)}})

    request = urllib.request.Request(endpoint + "/_meridian/ttl/sweep", data=b"", method="POST", headers=ADMIN_HEADERS)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    assert "Item" not in client.get_item(TableName=table_name, Key={"pk": {"S": "gone"}})

    records = consume(streams, desc["LatestStreamArn"], want=2)
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    assert "userIdentity" not in records[0]
    assert records[1]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert records[1]["dynamodb"]["OldImage"]["pk"] == {"S": "gone"}


def test_cli_stream_consumer_and_ttl(endpoint, tmp_path, table_name):
    """The README's example, with `aws dynamodb` and `aws dynamodbstreams`."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"],
        AWS_DEFAULT_REGION=REGION,
        AWS_PAGER="",
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )

    def aws(service, *args):
        proc = subprocess.run(
            [sys.executable, "-m", "awscli", service, *args, "--endpoint-url", endpoint, "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, f"aws {service} {' '.join(args)}: {proc.stderr}"
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    aws(
        "dynamodb", "create-table", "--table-name", table_name,
        "--attribute-definitions", "AttributeName=pk,AttributeType=S",
        "--key-schema", "AttributeName=pk,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST",
        "--stream-specification", "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES",
    )
    aws(
        "dynamodb", "update-table", "--table-name", table_name,
        "--attribute-definitions", "AttributeName=status,AttributeType=S",
        "--global-secondary-index-updates", json.dumps([{"Create": {
            "IndexName": "by-status",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }}]),
    )
    for _ in range(100):
        table = aws("dynamodb", "describe-table", "--table-name", table_name)["Table"]
        if table["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE":
            break
        time.sleep(0.2)
    else:
        raise AssertionError("by-status not ACTIVE")
    aws(
        "dynamodb", "update-time-to-live", "--table-name", table_name,
        "--time-to-live-specification", "Enabled=true,AttributeName=expires",
    )
    expired = str(int(time.time()) - 60)
    aws("dynamodb", "put-item", "--table-name", table_name,
        "--item", json.dumps({"pk": {"S": "order-1"}, "status": {"S": "new"}, "expires": {"N": expired}}))
    aws("dynamodb", "update-item", "--table-name", table_name, "--key", json.dumps({"pk": {"S": "order-1"}}),
        "--update-expression", "SET #s = :s", "--expression-attribute-names", json.dumps({"#s": "status"}),
        "--expression-attribute-values", json.dumps({":s": {"S": "paid"}}))
    paid = aws(
        "dynamodb", "query", "--table-name", table_name, "--index-name", "by-status",
        "--key-condition-expression", "#s = :s", "--expression-attribute-names", json.dumps({"#s": "status"}),
        "--expression-attribute-values", json.dumps({":s": {"S": "paid"}}),
    )["Items"]
    assert paid == [{"pk": {"S": "order-1"}, "status": {"S": "paid"}}]
    request = urllib.request.Request(endpoint + "/_meridian/ttl/sweep", data=b"", method="POST", headers=ADMIN_HEADERS)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["Expired"] == 1

    stream = aws("dynamodbstreams", "list-streams", "--table-name", table_name)["Streams"][0]["StreamArn"]
    shard = aws("dynamodbstreams", "describe-stream", "--stream-arn", stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = aws(
        "dynamodbstreams", "get-shard-iterator", "--stream-arn", stream, "--shard-id", shard,
        "--shard-iterator-type", "TRIM_HORIZON",
    )["ShardIterator"]
    records = aws("dynamodbstreams", "get-records", "--shard-iterator", iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert [r["dynamodb"]["SequenceNumber"] for r in records] == [
        "000000000000000000001", "000000000000000000002", "000000000000000000003"
    ]
    assert records[2]["userIdentity"]["PrincipalId"] == "dynamodb.amazonaws.com"
    assert records[1]["dynamodb"]["OldImage"]["status"] == {"S": "new"}
