"""Fixtures that spawn the real `meridian` binary and point boto3 and the AWS CLI at it.

The binary is `$MERIDIAN_BIN`, else `<target>/debug/meridian` where `<target>` is
`$CARGO_TARGET_DIR` or the workspace's `target/`.
"""

import os
import pathlib
import queue
import subprocess
import tempfile
import threading
import uuid

import boto3
import pytest
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
READY_PREFIX = "Meridian ready on "
READY_TIMEOUT_S = 30
SHUTDOWN_TIMEOUT_S = 15
REGION = "us-east-1"
# Admin calls (POST /_meridian/ttl/sweep) carry this secret; every spawned node gets it.
ADMIN_SECRET = "meridian-test-admin-secret"
ADMIN_HEADERS = {"x-meridian-admin-secret": ADMIN_SECRET}
CREDENTIALS = {"aws_access_key_id": "AKIDMERIDIANTEST", "aws_secret_access_key": "meridian-test-secret"}


def binary_path() -> str:
    env = os.environ.get("MERIDIAN_BIN")
    if env:
        return env
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return str(target / "debug" / "meridian")


class Meridian:
    """One running `meridian --port 0 --in-memory` process."""

    def __init__(self, *extra_args: str):
        path = binary_path()
        if not os.path.isfile(path):
            raise RuntimeError(f"no meridian binary at {path}; build it or set MERIDIAN_BIN")
        self._log = tempfile.NamedTemporaryFile(prefix="meridian-stderr-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [path, "--port", "0", "--in-memory", *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "MERIDIAN_ADMIN_SECRET": ADMIN_SECRET},
        )
        lines: "queue.Queue[str]" = queue.Queue()

        def drain() -> None:
            # Keep reading stdout for the life of the process so it never blocks on a full pipe.
            for line in self.proc.stdout:
                lines.put(line)

        threading.Thread(target=drain, daemon=True).start()
        try:
            while True:
                line = lines.get(timeout=READY_TIMEOUT_S)
                if line.startswith(READY_PREFIX):
                    break
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"meridian printed no ready line in {READY_TIMEOUT_S}s; stderr:\n{self.stderr()}")
        self.endpoint = line[len(READY_PREFIX):].strip().rstrip("/")

    def stderr(self) -> str:
        with open(self._log.name, encoding="utf-8", errors="replace") as f:
            return f.read()[-8000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.unlink(self._log.name)


@pytest.fixture(scope="session")
def meridian():
    # The periodic TTL sweeper is off: tests that expire items sweep explicitly
    # (POST /_meridian/ttl/sweep), so an item written already expired stays until they do.
    server = Meridian("--ttl-sweep-interval-ms", "0")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def endpoint(meridian) -> str:
    return meridian.endpoint


@pytest.fixture
def client(endpoint):
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30),
        **CREDENTIALS,
    )


@pytest.fixture
def resource(endpoint):
    return boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)


@pytest.fixture
def table_name():
    """A fresh table name; the table (pk S, sk N) is created by `table`."""
    return f"py-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def table(client, table_name):
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    yield table_name
    try:
        client.delete_table(TableName=table_name)
    except client.exceptions.ResourceNotFoundException:
        pass
