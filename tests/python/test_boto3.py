"""boto3 (client and resource APIs) against the real binary."""

import time
from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def test_table_lifecycle(client, table_name):
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    desc = client.describe_table(TableName=table_name)["Table"]
    assert desc["TableStatus"] == "ACTIVE"
    assert desc["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table_name in client.list_tables()["TableNames"]

    with pytest.raises(ClientError) as exc:
        client.create_table(
            TableName=table_name,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert error_code(exc.value) == "ResourceInUseException"

    client.delete_table(TableName=table_name)
    client.get_waiter("table_not_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_table(TableName=table_name)


def test_put_get_all_types(client, table):
    item = {
        "pk": {"S": "types"},
        "sk": {"N": "1"},
        "s": {"S": "héllo"},
        "n": {"N": "-1.50"},
        "b": {"B": b"\x00\xff"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"\x01"]},
        "bool": {"BOOL": True},
        "null": {"NULL": True},
        "l": {"L": [{"S": "x"}, {"N": "2"}]},
        "m": {"M": {"k": {"S": "v"}}},
    }
    client.put_item(TableName=table, Item=item)
    got = client.get_item(TableName=table, Key={"pk": {"S": "types"}, "sk": {"N": "1"}}, ConsistentRead=True)["Item"]
    expected = dict(item, n={"N": "-1.5"})
    assert {k: v for k, v in got.items() if k not in ("ss", "ns")} == {
        k: v for k, v in expected.items() if k not in ("ss", "ns")
    }
    assert sorted(got["ss"]["SS"]) == ["a", "b"]
    assert sorted(got["ns"]["NS"]) == ["1", "2"]


def test_resource_api_with_decimals_and_conditions(resource, table):
    t = resource.Table(table)
    for i in range(10):
        t.put_item(Item={"pk": "p", "sk": i, "price": Decimal("9.99") * i, "tag": "even" if i % 2 == 0 else "odd"})
    got = t.get_item(Key={"pk": "p", "sk": 3}, ConsistentRead=True)["Item"]
    assert got["price"] == Decimal("29.97")

    r = t.query(KeyConditionExpression=Key("pk").eq("p") & Key("sk").between(2, 6), FilterExpression=Attr("tag").eq("even"))
    assert [int(i["sk"]) for i in r["Items"]] == [2, 4, 6]
    assert r["Count"] == 3 and r["ScannedCount"] == 5

    r = t.update_item(
        Key={"pk": "p", "sk": 1},
        UpdateExpression="SET price = price + :d, #t = :t",
        ExpressionAttributeNames={"#t": "tag"},
        ExpressionAttributeValues={":d": Decimal("0.01"), ":t": "changed"},
        ReturnValues="UPDATED_NEW",
    )
    assert r["Attributes"] == {"price": Decimal("10"), "tag": "changed"}


def test_batch_writer_and_scan_paginator(resource, client, table):
    t = resource.Table(table)
    with t.batch_writer() as batch:
        for i in range(60):
            batch.put_item(Item={"pk": f"b{i % 7}", "sk": i})
    paginator = client.get_paginator("scan")
    keys = set()
    pages = 0
    for page in paginator.paginate(TableName=table, PaginationConfig={"PageSize": 8}):
        pages += 1
        for item in page["Items"]:
            keys.add((item["pk"]["S"], item["sk"]["N"]))
    assert len(keys) == 60
    assert pages >= 8


def test_query_paginator_descending(client, table):
    for i in range(12):
        client.put_item(TableName=table, Item={"pk": {"S": "q"}, "sk": {"N": str(i)}})
    paginator = client.get_paginator("query")
    sks = []
    for page in paginator.paginate(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "q"}},
        ScanIndexForward=False,
        PaginationConfig={"PageSize": 5},
    ):
        sks.extend(int(i["sk"]["N"]) for i in page["Items"])
    assert sks == list(range(11, -1, -1))


def test_conditional_check_failed_returns_item(client, table):
    key = {"pk": {"S": "c"}, "sk": {"N": "1"}}
    client.put_item(TableName=table, Item={**key, "v": {"N": "1"}})
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as exc:
        client.put_item(
            TableName=table,
            Item={**key, "v": {"N": "2"}},
            ConditionExpression="v = :two",
            ExpressionAttributeValues={":two": {"N": "2"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert exc.value.response["Item"] == {**key, "v": {"N": "1"}}


def test_transactions(client, table):
    a = {"pk": {"S": "acct"}, "sk": {"N": "1"}}
    b = {"pk": {"S": "acct"}, "sk": {"N": "2"}}
    client.put_item(TableName=table, Item={**a, "bal": {"N": "100"}})
    client.put_item(TableName=table, Item={**b, "bal": {"N": "0"}})
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": a,
                    "UpdateExpression": "SET bal = bal - :x",
                    "ConditionExpression": "bal >= :x",
                    "ExpressionAttributeValues": {":x": {"N": "60"}},
                }
            },
            {
                "Update": {
                    "TableName": table,
                    "Key": b,
                    "UpdateExpression": "SET bal = bal + :x",
                    "ExpressionAttributeValues": {":x": {"N": "60"}},
                }
            },
        ]
    )
    with pytest.raises(ClientError) as exc:
        client.transact_write_items(
            TransactItems=[
                {"ConditionCheck": {"TableName": table, "Key": a, "ConditionExpression": "bal >= :x", "ExpressionAttributeValues": {":x": {"N": "60"}}}},
                {"Put": {"TableName": table, "Item": {"pk": {"S": "never"}, "sk": {"N": "0"}}}},
            ]
        )
    assert error_code(exc.value) == "TransactionCanceledException"
    reasons = [r["Code"] for r in exc.value.response["CancellationReasons"]]
    assert reasons == ["ConditionalCheckFailed", "None"]

    got = client.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": a}}, {"Get": {"TableName": table, "Key": b}}])
    assert [r["Item"]["bal"]["N"] for r in got["Responses"]] == ["40", "60"]


def test_batch_get(client, table):
    keys = [{"pk": {"S": "bg"}, "sk": {"N": str(i)}} for i in range(30)]
    client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": k}} for k in keys[:25]]})
    client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": k}} for k in keys[25:]]})
    r = client.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
    assert len(r["Responses"][table]) == 30
    assert not r.get("UnprocessedKeys")


def test_errors(client, table):
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_item(TableName="no-such-table", Key={"pk": {"S": "x"}})
    with pytest.raises(ClientError) as exc:
        client.update_item(
            TableName=table,
            Key={"pk": {"S": "e"}, "sk": {"N": "1"}},
            UpdateExpression="SET name = :v",
            ExpressionAttributeValues={":v": {"S": "x"}},
        )
    assert error_code(exc.value) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        client.put_item(TableName=table, Item={"pk": {"S": ""}, "sk": {"N": "1"}})
    assert error_code(exc.value) == "ValidationException"


def test_consumed_capacity(client, table):
    r = client.put_item(
        TableName=table,
        Item={"pk": {"S": "cap"}, "sk": {"N": "1"}},
        ReturnConsumedCapacity="TOTAL",
    )
    assert r["ConsumedCapacity"]["TableName"] == table
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0
    r = client.get_item(TableName=table, Key={"pk": {"S": "cap"}, "sk": {"N": "1"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 0.5


def test_global_secondary_index_query(client, resource, table_name):
    """A GSI through boto3: create with the table, sparse, INCLUDE projection, paginated Query,
    then a second GSI added by UpdateTable and backfilled."""
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "team", "AttributeType": "S"},
            {"AttributeName": "score", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_team",
                "KeySchema": [
                    {"AttributeName": "team", "KeyType": "HASH"},
                    {"AttributeName": "score", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]},
            }
        ],
    )
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    table = resource.Table(table_name)
    with table.batch_writer() as batch:
        for i in range(25):
            batch.put_item(Item={"pk": f"p{i}", "team": "red" if i % 2 else "blue", "score": i, "name": f"n{i}", "x": 1})
        batch.put_item(Item={"pk": "loner", "name": "no team"})

    items, start = [], None
    while True:
        kwargs = {"IndexName": "by_team", "KeyConditionExpression": Key("team").eq("red") & Key("score").gte(5), "Limit": 4}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = table.query(**kwargs)
        items.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert [int(i["score"]) for i in items] == list(range(5, 25, 2))
    assert set(items[0]) == {"pk", "team", "score", "name"}

    with pytest.raises(ClientError) as exc:
        table.query(IndexName="by_team", KeyConditionExpression=Key("team").eq("red"), ConsistentRead=True)
    assert error_code(exc.value) == "ValidationException"

    desc = client.describe_table(TableName=table_name)["Table"]
    (gsi,) = desc["GlobalSecondaryIndexes"]
    assert gsi["IndexStatus"] == "ACTIVE" and gsi["ItemCount"] == 25
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]}

    client.update_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {"Create": {"IndexName": "by_name", "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}}
        ],
    )
    for _ in range(100):
        indexes = client.describe_table(TableName=table_name)["Table"]["GlobalSecondaryIndexes"]
        if all(i["IndexStatus"] == "ACTIVE" for i in indexes):
            break
        time.sleep(0.1)
    page = table.query(IndexName="by_name", KeyConditionExpression=Key("name").eq("no team"))
    assert page["Items"] == [{"pk": "loner", "name": "no team"}]
