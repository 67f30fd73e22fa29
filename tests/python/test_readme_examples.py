"""The README's examples, run for real: its `sh` blocks are read out of README.md and run with
bash and the AWS CLI (this venv's `aws`), against a spawned `meridian`.

Only the endpoint (`http://localhost:8000`) and, for point-in-time restore, the example date
are substituted; everything else (table names, statements, flags, file names) is the README's
own text, so a README command that stops working fails here. Sections covered: "Using it"
(create-table), "PartiQL", "Backups, point-in-time recovery, export and import", "Metrics" and
"Authentication (opt-in SigV4)"; boto3 checks ReturnConsumedCapacity.
"""

import datetime
import gzip
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from conftest import REGION, ROOT, Meridian

README = (ROOT / "README.md").read_text(encoding="utf-8")
README_ENDPOINT = "http://localhost:8000"
# The README writes the default endpoint both ways.
README_ENDPOINT_RE = re.compile(r"http://(?:localhost|127\.0\.0\.1):8000")
CLI_TIMEOUT_S = 90
# Where the venv's `aws` lives: put first on PATH so the README's bare `aws` is this one.
VENV_BIN = os.path.dirname(sys.executable)
POLL_TIMEOUT_S = 30


# --- reading the README ------------------------------------------------------------------


def section(title: str) -> str:
    """The text under `## title`, up to the next `## ` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else len(README)]


def sh_blocks(title: str) -> list:
    blocks = re.findall(r"```sh\n(.*?)```", section(title), re.S)
    assert blocks, f"README section {title!r} has no sh block"
    return blocks


def commands(block: str) -> list:
    """Shell commands of a block: `\\` continuations joined, heredocs kept whole, comments and
    blank lines dropped."""
    out, lines, i = [], block.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        heredoc = re.search(r"<<'(\w+)'", line)
        if heredoc:
            body = [line]
            while lines[i] != heredoc.group(1):
                body.append(lines[i])
                i += 1
            body.append(lines[i])
            i += 1
            out.append("\n".join(body))
            continue
        cmd = line
        while cmd.endswith("\\"):  # the backslash-newline stays: bash joins the lines
            cmd = cmd + "\n" + lines[i]
            i += 1
        out.append(cmd)
    return out


def paragraphs(block: str) -> list:
    """A block split at blank lines (the backup section's script is grouped that way)."""
    return [p for p in re.split(r"\n\s*\n", block) if p.strip()]


def find_command(cmds: list, *needles: str) -> str:
    found = [c for c in cmds if all(n in c for n in needles)]
    assert len(found) == 1, f"expected one README command with {needles}, found {found}"
    return found[0]


def json_documents(text: str) -> list:
    """Every JSON document in the concatenated output of several CLI commands."""
    decoder, docs, pos = json.JSONDecoder(), [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return docs
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)


# --- running it --------------------------------------------------------------------------


class Shell:
    """Runs README shell text with bash in a scratch directory, `aws` from the venv, the
    README's endpoint pointed at `endpoint`."""

    def __init__(self, endpoint: str, workdir: pathlib.Path, key: str = "x", secret: str = "x"):
        self.endpoint = endpoint
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.update(
            PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
            AWS_ACCESS_KEY_ID=key,
            AWS_SECRET_ACCESS_KEY=secret,
            AWS_DEFAULT_REGION=REGION,
            AWS_DEFAULT_OUTPUT="json",
            AWS_PAGER="",
            AWS_CONFIG_FILE=str(workdir / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(workdir / "aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
        )
        self.env.pop("AWS_PROFILE", None)
        self.env.pop("AWS_SESSION_TOKEN", None)

    def run(self, script: str, check: bool = True) -> subprocess.CompletedProcess:
        assert README_ENDPOINT_RE.search(script) or "$E" in script or "aws " not in script, script
        script = README_ENDPOINT_RE.sub(self.endpoint, script)
        proc = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"README commands failed ({proc.returncode}):\n{script}\nstderr:\n{proc.stderr}")
        return proc

    def json(self, script: str):
        docs = json_documents(self.run(script).stdout)
        assert len(docs) == 1, docs
        return docs[0]


def boto_client(endpoint: str, key: str = "x", secret: str = "x"):
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )


def http_get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read().decode()


def poll(what: str, probe, timeout_s: float = POLL_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.2)


def scan_all(client, table: str) -> list:
    items, kwargs = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["Artist"]["S"], i["SongTitle"]["S"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def metric_samples(text: str, name: str) -> list:
    """(labels dict, value) of every sample of `name` in Prometheus text."""
    out = []
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if m:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1) or ""))
            out.append((labels, float(m.group(2))))
    return out


# --- the server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def export_root(tmp_path_factory):
    return tmp_path_factory.mktemp("export-root")


@pytest.fixture(scope="module")
def server(export_root):
    """One node for the module; buckets live under `export_root` (MERIDIAN_EXPORT_ROOT)."""
    saved = os.environ.get("MERIDIAN_EXPORT_ROOT")
    os.environ["MERIDIAN_EXPORT_ROOT"] = str(export_root)
    try:
        node = Meridian("--ttl-sweep-interval-ms", "0")
    finally:
        if saved is None:
            del os.environ["MERIDIAN_EXPORT_ROOT"]
        else:
            os.environ["MERIDIAN_EXPORT_ROOT"] = saved
    yield node
    node.stop()


@pytest.fixture(scope="module")
def shell(server, tmp_path_factory):
    return Shell(server.endpoint, tmp_path_factory.mktemp("readme-shell"))


@pytest.fixture(scope="module")
def ddb(server):
    return boto_client(server.endpoint)


@pytest.fixture(scope="module")
def music(shell, ddb):
    """The README's PartiQL `create-table` for Music (with the ByAwards index)."""
    shell.run(find_command(commands(sh_blocks("PartiQL")[0]), "create-table", "--table-name Music"))
    table = ddb.describe_table(TableName="Music")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["ByAwards"]
    return "Music"


# --- PartiQL -----------------------------------------------------------------------------


def test_partiql_examples(shell, ddb, music):
    cmds = commands(sh_blocks("PartiQL")[0])

    # INSERT with parameters, then SELECT with a parameter (a Query on the partition key).
    assert shell.json(find_command(cmds, "INSERT INTO Music VALUE {'Artist': ?")) == {"Items": []}
    out = shell.json(find_command(cmds, "SELECT * FROM Music WHERE Artist=?"))
    assert out["Items"] == [{"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "Happy Day"}, "Awards": {"N": "1"}}]

    # The same INSERT again: the key exists.
    again = shell.run(find_command(cmds, "INSERT INTO Music VALUE {'Artist': ?"), check=False)
    assert again.returncode != 0 and "DuplicateItemException" in again.stderr, again.stderr

    # UPDATE ... RETURNING ALL NEW *.
    out = shell.json(find_command(cmds, "UPDATE Music SET Awards = Awards + 1 WHERE"))
    assert out["Items"] == [{"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "Happy Day"}, "Awards": {"N": "2"}}]

    # SELECT from the index (a Scan of ByAwards with the clause as filter).
    out = shell.json(find_command(cmds, '"Music"."ByAwards"'))
    assert out["Items"] == [{"SongTitle": {"S": "Happy Day"}}]

    # Batch: writes batch.json, then runs it; the third statement fails on its own.
    shell.run(find_command(cmds, "cat > batch.json"))
    out = shell.json(find_command(cmds, "batch-execute-statement"))
    responses = out["Responses"]
    assert len(responses) == 3
    assert "Error" not in responses[0] and "Error" not in responses[1], responses
    assert responses[2]["Error"]["Code"] == "ConditionalCheckFailed", responses
    rocks = ddb.get_item(TableName="Music", Key={"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "PartiQL Rocks"}}, ConsistentRead=True)
    assert rocks["Item"]["Awards"] == {"N": "3"}
    happy = ddb.get_item(TableName="Music", Key={"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "Happy Day"}}, ConsistentRead=True)
    assert happy["Item"]["Awards"] == {"N": "12"}
    assert "Item" not in ddb.get_item(TableName="Music", Key={"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "No Such Song"}})

    # Transaction: EXISTS holds (Awards is 12), so the DELETE and the INSERT both apply.
    shell.run(find_command(cmds, "cat > transaction.json"))
    tx = find_command(cmds, "execute-transaction")
    shell.run(tx)
    assert "Item" not in ddb.get_item(TableName="Music", Key={"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "PartiQL Rocks"}}, ConsistentRead=True)
    called = ddb.get_item(TableName="Music", Key={"Artist": {"S": "No One You Know"}, "SongTitle": {"S": "Call Me Today"}}, ConsistentRead=True)
    assert called["Item"]["Awards"] == {"N": "1"}

    # Run again, the transaction is cancelled as a whole: the INSERT's key now exists and the
    # DELETE's item is gone (a DELETE of a missing item is no failure, the INSERT is).
    again = shell.run(tx, check=False)
    assert again.returncode != 0 and "TransactionCanceledException" in again.stderr, again.stderr
    assert "[None, None, DuplicateItem]" in again.stderr, again.stderr

    # DELETE ... RETURNING ALL OLD *.
    out = shell.json(find_command(cmds, "DELETE FROM Music WHERE Artist='No One You Know'"))
    assert out["Items"] == [{"Artist": {"S": "No One You Know"}, "SongTitle": {"S": "Call Me Today"}, "Awards": {"N": "1"}}]
    assert "Item" not in ddb.get_item(TableName="Music", Key={"Artist": {"S": "No One You Know"}, "SongTitle": {"S": "Call Me Today"}}, ConsistentRead=True)


# --- backups, PITR, export and import ----------------------------------------------------


def backup_script():
    """(prelude, backup paragraph, PITR paragraph, export paragraph) of the README's script."""
    parts = paragraphs(sh_blocks("Backups, point-in-time recovery, export and import")[0])
    assert len(parts) == 4, parts
    prelude, backup, pitr, export = parts
    assert "E=--endpoint-url=http://localhost:8000" in prelude
    assert "create-backup" in backup and "update-continuous-backups" in pitr and "export-table-to-point-in-time" in export
    return prelude, backup, pitr, export


def seed(ddb, songs):
    for title, awards in songs:
        ddb.put_item(TableName="Music", Item={"Artist": {"S": "Backup Band"}, "SongTitle": {"S": title}, "Awards": {"N": str(awards)}})


def test_backup_then_restore(shell, ddb, music):
    prelude, backup, _, _ = backup_script()
    seed(ddb, [("Before Cleanup", 1)])
    expected = scan_all(ddb, "Music")

    docs = json_documents(shell.run(prelude + "\n" + backup).stdout)
    # list-backups, restore-table-from-backup, describe-table --query Table.RestoreSummary.
    assert len(docs) == 3, docs
    (summary,) = docs[0]["BackupSummaries"]
    assert summary["BackupName"] == "before-cleanup" and summary["BackupStatus"] == "AVAILABLE"
    assert docs[1]["TableDescription"]["TableName"] == "MusicRestored"
    assert docs[1]["TableDescription"]["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert docs[2]["SourceBackupArn"] == summary["BackupArn"]
    assert docs[2]["RestoreInProgress"] is False

    # Changes after the backup do not reach the restored table.
    seed(ddb, [("After Backup", 2)])
    assert ddb.describe_table(TableName="MusicRestored")["Table"]["TableStatus"] == "ACTIVE"
    assert scan_all(ddb, "MusicRestored") == expected


def test_point_in_time_restore(shell, ddb, music):
    prelude, _, pitr, _ = backup_script()
    cmds = commands(pitr)
    enable = find_command(cmds, "update-continuous-backups")
    describe = find_command(cmds, "describe-continuous-backups")
    at_date = find_command(cmds, "--target-table-name MusicAt")
    latest = find_command(cmds, "--use-latest-restorable-time")

    shell.run(prelude + "\n" + enable)
    desc = shell.json(prelude + "\n" + describe)["ContinuousBackupsDescription"]
    assert desc["ContinuousBackupsStatus"] == "ENABLED"
    assert desc["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert desc["PointInTimeRecoveryDescription"]["RecoveryPeriodInDays"] == 7

    # A write, a moment (whole seconds, as the README writes it), then another write.
    seed(ddb, [("In The Window", 3)])
    before = scan_all(ddb, "Music")
    moment = datetime.datetime.fromtimestamp(int(time.time()) + 1, tz=datetime.timezone.utc)
    while time.time() < moment.timestamp() + 0.3:
        time.sleep(0.05)
    seed(ddb, [("After The Moment", 4)])

    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    at_cmd, n = re.subn(r"--restore-date-time \S+", f"--restore-date-time {stamp}", at_date)
    assert n == 1, at_date
    out = shell.json(prelude + "\n" + at_cmd)
    assert out["TableDescription"]["TableName"] == "MusicAt"
    assert scan_all(ddb, "MusicAt") == before

    out = shell.json(prelude + "\n" + latest)
    assert out["TableDescription"]["TableName"] == "MusicNow"
    assert scan_all(ddb, "MusicNow") == scan_all(ddb, "Music")

    # The README's own date, if it is outside the window, is refused with DynamoDB's error.
    readme_date = re.search(r"--restore-date-time (\S+)", at_date).group(1)
    readme_ts = datetime.datetime.strptime(readme_date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    earliest = ddb.describe_continuous_backups(TableName="Music")["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["EarliestRestorableDateTime"]
    if readme_ts < earliest:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            ddb.restore_table_to_point_in_time(SourceTableName="Music", TargetTableName="MusicTooEarly", RestoreDateTime=readme_ts)
        assert excinfo.value.response["Error"]["Code"] == "InvalidRestoreTimeException"


def test_export_then_import(shell, ddb, music, export_root):
    prelude, _, pitr, export = backup_script()
    # Export needs PITR: the README's own command turns it on (idempotent if already on).
    shell.run(prelude + "\n" + find_command(commands(pitr), "update-continuous-backups"))
    seed(ddb, [("Exported", 5)])
    expected = scan_all(ddb, "Music")

    docs = json_documents(shell.run(prelude + "\n" + export).stdout)
    # describe-export, import-table, list-imports.
    assert len(docs) == 3, docs
    export_desc = docs[0]["ExportDescription"]
    assert export_desc["ExportStatus"] in ("IN_PROGRESS", "COMPLETED")
    assert export_desc["S3Bucket"] == "my-bucket" and export_desc["S3Prefix"] == "snap"
    export_id = export_desc["ExportArn"].rsplit("/", 1)[1]
    import_desc = docs[1]["ImportTableDescription"]
    assert import_desc["S3BucketSource"]["S3KeyPrefix"] == f"snap/AWSDynamoDB/{export_id}/data/"
    assert import_desc["ImportArn"] in [i["ImportArn"] for i in docs[2]["ImportSummaryList"]]

    # The files are where the README says: <export root>/exports/<bucket>/<prefix>/AWSDynamoDB/<id>/.
    export_dir = export_root / "exports" / "my-bucket" / "snap" / "AWSDynamoDB" / export_id
    poll("the export to complete", lambda: ddb.describe_export(ExportArn=export_desc["ExportArn"])["ExportDescription"]["ExportStatus"] == "COMPLETED")
    assert (export_dir / "manifest-summary.json").is_file()
    data_files = sorted((export_dir / "data").glob("*.json.gz"))
    assert data_files, list(export_dir.rglob("*"))
    lines = [json.loads(line) for f in data_files for line in gzip.decompress(f.read_bytes()).decode().splitlines() if line.strip()]
    assert sorted((l["Item"]["Artist"]["S"], l["Item"]["SongTitle"]["S"]) for l in lines) == [
        (i["Artist"]["S"], i["SongTitle"]["S"]) for i in expected
    ]

    # The import reads them back into MusicCopy.
    def imported():
        desc = ddb.describe_import(ImportArn=import_desc["ImportArn"])["ImportTableDescription"]
        assert desc["ImportStatus"] in ("IN_PROGRESS", "COMPLETED"), desc
        return desc if desc["ImportStatus"] == "COMPLETED" else None

    done = poll("the import to complete", imported)
    assert done["ImportedItemCount"] == len(expected)
    assert done["ErrorCount"] == 0
    assert scan_all(ddb, "MusicCopy") == expected


# --- ReturnConsumedCapacity (boto3) and metrics --------------------------------------------


def test_return_consumed_capacity_with_boto3(ddb, music):
    key = {"Artist": {"S": "Capacity Band"}, "SongTitle": {"S": "Units"}}
    out = ddb.put_item(TableName="Music", Item={**key, "Awards": {"N": "7"}}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": "Music", "CapacityUnits": 1.0}

    out = ddb.get_item(TableName="Music", Key=key, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": "Music", "CapacityUnits": 1.0}
    out = ddb.get_item(TableName="Music", Key=key, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": "Music", "CapacityUnits": 0.5}
    assert "ConsumedCapacity" not in ddb.get_item(TableName="Music", Key=key)

    out = ddb.query(
        TableName="Music",
        IndexName="ByAwards",
        KeyConditionExpression="Awards = :a",
        ExpressionAttributeValues={":a": {"N": "7"}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert [i["SongTitle"]["S"] for i in out["Items"]] == ["Units"]
    consumed = out["ConsumedCapacity"]
    assert consumed["TableName"] == "Music" and consumed["CapacityUnits"] > 0
    assert consumed["GlobalSecondaryIndexes"]["ByAwards"]["CapacityUnits"] > 0

    out = ddb.execute_statement(
        Statement="SELECT * FROM Music WHERE Artist = ? AND SongTitle = ?",
        Parameters=[key["Artist"], key["SongTitle"]],
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["Items"][0]["Awards"] == {"N": "7"}
    assert out["ConsumedCapacity"]["TableName"] == "Music" and out["ConsumedCapacity"]["CapacityUnits"] > 0

    out = ddb.update_item(
        TableName="Music",
        Key=key,
        UpdateExpression="SET Awards = Awards + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["Attributes"] == {"Awards": {"N": "8"}}
    assert out["ConsumedCapacity"] == {"TableName": "Music", "CapacityUnits": 1.0}

    out = ddb.delete_item(TableName="Music", Key=key, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": "Music", "CapacityUnits": 1.0}


def test_metrics_after_cli_calls(server, shell, ddb, music):
    # A write and a read (boto3), then a few AWS CLI calls, one of them an error.
    key = {"Artist": {"S": "Metrics Band"}, "SongTitle": {"S": "Counted"}}
    ddb.put_item(TableName="Music", Item=key)
    assert ddb.get_item(TableName="Music", Key=key)["Item"] == key
    shell.run(f"aws dynamodb list-tables --endpoint-url {README_ENDPOINT}")
    shell.run(f"aws dynamodb describe-table --endpoint-url {README_ENDPOINT} --table-name Music")
    missing = shell.run(f"aws dynamodb describe-table --endpoint-url {README_ENDPOINT} --table-name NoSuchTable", check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr

    url = server.endpoint + "/metrics"
    assert "`GET /metrics`" in section("Metrics")
    assert "Content-Type: text/plain; version=0.0.4" in section("Metrics")

    def scraped():
        status, content_type, body = http_get(url)
        assert status == 200, (status, body[:500])
        assert content_type.startswith("text/plain; version=0.0.4"), content_type
        requests = metric_samples(body, "meridian_requests_total")
        errors = metric_samples(body, "meridian_request_errors_total")
        ready = (
            any(l.get("operation") == "ListTables" and v >= 1 for l, v in requests)
            and any(l.get("operation") == "DescribeTable" and l.get("table") == "Music" and v >= 1 for l, v in requests)
            and any(l.get("operation") == "DescribeTable" and l.get("error") == "ResourceNotFoundException" and v >= 1 for l, v in errors)
            and any(l.get("operation") == "PutItem" and l.get("table") == "Music" and v >= 1
                    for l, v in metric_samples(body, "meridian_consumed_write_capacity_units_total"))
            and any(l.get("operation") == "GetItem" and l.get("table") == "Music" and v >= 0.5
                    for l, v in metric_samples(body, "meridian_consumed_read_capacity_units_total"))
        )
        return body if ready else None

    body = poll("the CLI calls to show in /metrics", scraped)
    # Families the README's table lists.
    for family in (
        "meridian_request_duration_seconds_bucket",
        "meridian_consumed_read_capacity_units_total",
        "meridian_consumed_write_capacity_units_total",
        "meridian_raft_is_leader",
        "meridian_storage_in_memory",
        "meridian_tables",
        "meridian_build_info",
    ):
        assert metric_samples(body, family), f"{family} missing from /metrics"
    assert [v for _, v in metric_samples(body, "meridian_build_info")] == [1.0]


# --- authentication ------------------------------------------------------------------------


AUTH_KEY = "AKIDLOCAL"
AUTH_SECRET = "local-secret"


def readme_auth_flags() -> list:
    """The README's `meridian --require-auth --auth-key ...` line, as arguments."""
    (cmd,) = commands(sh_blocks("Authentication (opt-in SigV4)")[0])
    args = cmd.split("#")[0].split()
    assert args[0] == "meridian", cmd
    assert f"{AUTH_KEY}:{AUTH_SECRET}" in args, cmd
    return args[1:]


def readme_create_demo_table() -> str:
    return find_command(commands(sh_blocks("Using it")[1]), "create-table", "--table-name demo")


@pytest.fixture(scope="module")
def secured():
    node = Meridian(*readme_auth_flags())
    yield node
    node.stop()


def test_require_auth_with_the_cli(secured, tmp_path):
    good = Shell(secured.endpoint, tmp_path / "good", key=AUTH_KEY, secret=AUTH_SECRET)
    out = good.json(readme_create_demo_table())
    assert out["TableDescription"]["TableName"] == "demo"
    assert "demo" in good.json(f"aws dynamodb list-tables --endpoint-url {README_ENDPOINT}")["TableNames"]

    wrong_secret = Shell(secured.endpoint, tmp_path / "wrong", key=AUTH_KEY, secret="not-the-secret")
    proc = wrong_secret.run(f"aws dynamodb list-tables --endpoint-url {README_ENDPOINT}", check=False)
    assert proc.returncode != 0 and "InvalidSignatureException" in proc.stderr, proc.stderr

    unknown = Shell(secured.endpoint, tmp_path / "unknown", key="AKIDNOBODY", secret=AUTH_SECRET)
    proc = unknown.run(f"aws dynamodb list-tables --endpoint-url {README_ENDPOINT}", check=False)
    assert proc.returncode != 0 and "UnrecognizedClientException" in proc.stderr, proc.stderr

    proc = good.run(f"aws dynamodb list-tables --no-sign-request --endpoint-url {README_ENDPOINT}", check=False)
    assert proc.returncode != 0 and "MissingAuthenticationTokenException" in proc.stderr, proc.stderr

    # Health and metrics need no signature.
    status, content_type, _ = http_get(secured.endpoint + "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    status, _, body = http_get(secured.endpoint + "/_meridian/health")
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_require_auth_from_the_config_file(tmp_path):
    """The README's `[auth]` TOML, as a config file."""
    blocks = re.findall(r"```toml\n(.*?)```", section("Authentication (opt-in SigV4)"), re.S)
    assert len(blocks) == 1, blocks
    config = tmp_path / "auth.toml"
    config.write_text(blocks[0], encoding="utf-8")
    node = Meridian("--config", str(config))
    try:
        assert boto_client(node.endpoint, AUTH_KEY, AUTH_SECRET).list_tables()["TableNames"] == []
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            boto_client(node.endpoint, AUTH_KEY, "not-the-secret").list_tables()
        assert excinfo.value.response["Error"]["Code"] == "InvalidSignatureException"
    finally:
        node.stop()
