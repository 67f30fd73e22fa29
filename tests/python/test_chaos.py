"""The chaos lab as the README shows it: `meridian dev`, the AWS CLI and `meridian chaos`
(replication paused, writes in two regions, lag and conflicts in `meridian status`, convergence
after the pause heals), and boto3's retries walking through injected throttling errors."""

import json
import re
import subprocess
import time

import boto3
from botocore.config import Config

from conftest import CREDENTIALS, binary_path
from test_global import REGIONS, aws, dev_lab  # noqa: F401  (dev_lab is a fixture)

HEAL_WAIT_S = 30


def meridian(*args):
    proc = subprocess.run([binary_path(), *args], capture_output=True, text=True, timeout=60,
                          env={"RUST_BACKTRACE": "0", "PATH": "/usr/bin:/bin"})
    return proc.returncode, proc.stdout + proc.stderr


def lab_port(shared):
    return shared.rsplit(":", 1)[1]


def figure(status, pair, key):
    values = [int(m.group(1)) for line in status.splitlines() if pair in line
              for m in [re.search(rf"\b{key}=(\d+)", line)] if m]
    return max(values, default=0)


def test_readme_pause_replication_walkthrough(dev_lab, tmp_path):
    endpoints, shared = dev_lab
    port = lab_port(shared)
    aws(tmp_path, shared, "us-east-1", "create-table", "--table-name", "orders",
        "--attribute-definitions", "AttributeName=pk,AttributeType=S",
        "--key-schema", "AttributeName=pk,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
    time.sleep(1.0)  # the replicas are created in the other regions
    code, out = meridian("chaos", "pause-replication", "--lab-of", port,
                         "--table", "arn:aws:dynamodb:us-east-1:000000000000:table/orders",
                         "--duration", "PT2M")
    assert code == 0, out
    aws(tmp_path, shared, "us-east-1", "put-item", "--table-name", "orders",
        "--item", json.dumps({"pk": {"S": "o-1"}, "by": {"S": "east"}}))
    time.sleep(0.05)
    aws(tmp_path, shared, "eu-west-1", "put-item", "--table-name", "orders",
        "--item", json.dumps({"pk": {"S": "o-1"}, "by": {"S": "west"}}))
    time.sleep(1.0)
    code, status = meridian("status", "--lab-of", port)
    assert code == 0, status
    assert figure(status, "replication us-east-1->eu-west-1", "pending") >= 1, status
    assert figure(status, "replication us-east-1->eu-west-1", "lag_ms") >= 500, status
    assert "kind=pause-replication" in status, status
    south = aws(tmp_path, endpoints["ap-southeast-1"], "ap-southeast-1", "get-item",
                "--table-name", "orders", "--key", json.dumps({"pk": {"S": "o-1"}}))
    assert not south or "Item" not in south, "replicated while paused"
    code, out = meridian("chaos", "clear", "--lab-of", port)
    assert code == 0 and "cleared 1" in out, out
    deadline = time.time() + HEAL_WAIT_S
    while True:
        seen = []
        for region in REGIONS:
            got = aws(tmp_path, endpoints[region], region, "get-item", "--table-name", "orders",
                      "--key", json.dumps({"pk": {"S": "o-1"}}))
            seen.append(got.get("Item", {}).get("by", {}).get("S") if got else None)
        if seen == ["west"] * len(REGIONS):
            break
        assert time.time() < deadline, f"did not converge: {seen}"
        time.sleep(0.2)
    time.sleep(0.5)
    code, status = meridian("status", "--lab-of", port)
    assert figure(status, "replication us-east-1->eu-west-1", "conflicts") >= 1, status
    assert "chaos: no active faults" in status, status


def test_boto3_retries_walk_through_injected_throttling(dev_lab):
    _endpoints, shared = dev_lab
    port = lab_port(shared)
    client = boto3.client(
        "dynamodb", endpoint_url=shared, region_name="us-east-1",
        config=Config(retries={"max_attempts": 4, "mode": "standard"}), **CREDENTIALS)
    client.create_table(
        TableName="busy", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    code, out = meridian("chaos", "inject-error", "--lab-of", port, "--error", "ThrottlingException",
                         "--operation", "PutItem", "--table", "busy", "--count", "2")
    assert code == 0, out
    answer = client.put_item(TableName="busy", Item={"pk": {"S": "a"}})
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert client.get_item(TableName="busy", Key={"pk": {"S": "a"}})["Item"]["pk"] == {"S": "a"}
    code, out = meridian("chaos", "list", "--lab-of", port)
    assert "no active faults" in out, out
