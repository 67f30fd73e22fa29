"""The AWS CLI against the real binary."""

import json
import os
import subprocess
import sys

import pytest

from conftest import CREDENTIALS, REGION

CLI_TIMEOUT_S = 60


@pytest.fixture
def aws(endpoint, tmp_path):
    """Runs `aws dynamodb ...` (awscli from this Python) and returns (exit code, stdout JSON, stderr)."""
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

    def run(*args: str, check: bool = True):
        proc = subprocess.run(
            [sys.executable, "-m", "awscli", "dynamodb", *args, "--endpoint-url", endpoint, "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"aws dynamodb {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        out = json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc.returncode, out, proc.stderr

    return run


def test_cli_round_trip(aws, table_name):
    aws(
        "create-table",
        "--table-name", table_name,
        "--attribute-definitions", "AttributeName=pk,AttributeType=S", "AttributeName=sk,AttributeType=N",
        "--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE",
        "--billing-mode", "PAY_PER_REQUEST",
    )
    aws("wait", "table-exists", "--table-name", table_name)
    _, out, _ = aws("list-tables")
    assert table_name in out["TableNames"]

    for i in range(7):
        aws("put-item", "--table-name", table_name, "--item", json.dumps({"pk": {"S": "p"}, "sk": {"N": str(i)}, "v": {"S": f"v{i}"}}))

    _, out, _ = aws("get-item", "--table-name", table_name, "--key", json.dumps({"pk": {"S": "p"}, "sk": {"N": "3"}}), "--consistent-read")
    assert out["Item"]["v"] == {"S": "v3"}

    _, out, _ = aws(
        "query", "--table-name", table_name,
        "--key-condition-expression", "pk = :p AND sk >= :lo",
        "--expression-attribute-values", json.dumps({":p": {"S": "p"}, ":lo": {"N": "4"}}),
    )
    assert [i["sk"]["N"] for i in out["Items"]] == ["4", "5", "6"]

    # The CLI follows LastEvaluatedKey itself: small pages still return everything.
    _, out, _ = aws("scan", "--table-name", table_name, "--page-size", "2")
    assert out["Count"] == 7

    _, out, _ = aws(
        "update-item", "--table-name", table_name,
        "--key", json.dumps({"pk": {"S": "p"}, "sk": {"N": "0"}}),
        "--update-expression", "SET v = :v",
        "--expression-attribute-values", json.dumps({":v": {"S": "updated"}}),
        "--return-values", "ALL_NEW",
    )
    assert out["Attributes"]["v"] == {"S": "updated"}

    aws("delete-item", "--table-name", table_name, "--key", json.dumps({"pk": {"S": "p"}, "sk": {"N": "0"}}))
    _, out, _ = aws("scan", "--table-name", table_name, "--select", "COUNT")
    assert out["Count"] == 6

    aws("delete-table", "--table-name", table_name)
    aws("wait", "table-not-exists", "--table-name", table_name)


def test_cli_reports_service_errors(aws):
    code, _, err = aws("describe-table", "--table-name", "no-such-table", check=False)
    assert code != 0
    assert "ResourceNotFoundException" in err


def test_cli_local_secondary_index(aws, table_name):
    """An LSI through the CLI: created with the table, queried with auto-pagination."""
    aws(
        "create-table",
        "--table-name", table_name,
        "--attribute-definitions",
        "AttributeName=pk,AttributeType=S", "AttributeName=sk,AttributeType=S", "AttributeName=rank,AttributeType=N",
        "--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE",
        "--local-secondary-indexes", json.dumps([{
            "IndexName": "by_rank",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "rank", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }]),
        "--billing-mode", "PAY_PER_REQUEST",
    )
    aws("wait", "table-exists", "--table-name", table_name)
    for i in range(9):
        aws("put-item", "--table-name", table_name, "--item", json.dumps({"pk": {"S": "p"}, "sk": {"S": f"s{i}"}, "rank": {"N": str(9 - i)}}))
    _, out, _ = aws(
        "query", "--table-name", table_name, "--index-name", "by_rank",
        "--key-condition-expression", "pk = :p", "--expression-attribute-values", json.dumps({":p": {"S": "p"}}),
        "--page-size", "2", "--consistent-read",
    )
    assert [int(i["rank"]["N"]) for i in out["Items"]] == list(range(1, 10))
    _, out, _ = aws("describe-table", "--table-name", table_name)
    assert out["Table"]["LocalSecondaryIndexes"][0]["ItemCount"] == 9
