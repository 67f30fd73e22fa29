"""`meridian dev` with the AWS CLI: a table created in one region is global, an item written
in one region is read in another, and the shared port routes by the signing region."""

import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from conftest import CREDENTIALS, READY_PREFIX, READY_TIMEOUT_S, SHUTDOWN_TIMEOUT_S, binary_path

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"]
REGION_LINE = re.compile(r"^Meridian region (\S+) node 1 on (http://\S+)")
CLI_TIMEOUT_S = 60
REPLICATION_WAIT_S = 15


@pytest.fixture
def dev_lab():
    """A running `meridian dev --in-memory --port 0` with three regions: {region: endpoint}."""
    log = tempfile.NamedTemporaryFile(prefix="meridian-dev-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [binary_path(), "dev", "--in-memory", "--port", "0", "--regions", ",".join(REGIONS)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    endpoints = {}
    shared = None
    try:
        while shared is None:
            line = lines.get(timeout=READY_TIMEOUT_S)
            m = REGION_LINE.match(line)
            if m:
                endpoints[m.group(1)] = m.group(2)
            if line.startswith(READY_PREFIX):
                shared = line[len(READY_PREFIX):].strip()
        yield endpoints, shared
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()


def aws(tmp_path, endpoint, region, *args, check=True):
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"],
        AWS_PAGER="",
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "awscli", "dynamodb", *args, "--endpoint-url", endpoint, "--region", region, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"aws dynamodb {' '.join(args)} failed: {proc.stderr}")
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def test_write_in_one_region_read_in_another(dev_lab, tmp_path):
    endpoints, shared = dev_lab
    assert set(endpoints) == set(REGIONS)
    created = aws(
        tmp_path, endpoints["us-east-1"], "us-east-1",
        "create-table", "--table-name", "Orders",
        "--attribute-definitions", "AttributeName=pk,AttributeType=S",
        "--key-schema", "AttributeName=pk,KeyType=HASH",
        "--billing-mode", "PAY_PER_REQUEST",
    )
    replicas = {r["RegionName"] for r in created["TableDescription"]["Replicas"]}
    assert replicas == {"eu-west-1", "ap-southeast-1"}
    aws(tmp_path, endpoints["us-east-1"], "us-east-1", "put-item", "--table-name", "Orders",
        "--item", json.dumps({"pk": {"S": "o-1"}, "total": {"N": "42"}}))
    deadline = time.time() + REPLICATION_WAIT_S
    while True:
        got = aws(tmp_path, endpoints["eu-west-1"], "eu-west-1", "get-item", "--table-name", "Orders",
                  "--key", json.dumps({"pk": {"S": "o-1"}}))
        if got and "Item" in got:
            assert got["Item"]["total"] == {"N": "42"}
            break
        assert time.time() < deadline, "the item never reached eu-west-1"
        time.sleep(0.1)
    # The shared port routes by the region the CLI signs for.
    described = aws(tmp_path, shared, "ap-southeast-1", "describe-table", "--table-name", "Orders")
    assert ":ap-southeast-1:" in described["Table"]["TableArn"]
    assert described["Table"]["GlobalTableVersion"] == "2019.11.21"
