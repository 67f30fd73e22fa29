#!/usr/bin/env python3
"""Issue 10: memory and disk of a node under repeated large batches.

Writes BATCHES BatchWriteItem requests of 25 items of ~380 KB each (about 9.5 MB per
request, one Raft log entry each) to the same 25 keys of a table, then prints the server's
RSS (from /proc) and the size of its data directory.

    python3 scripts/big-batches.py --endpoint http://127.0.0.1:8000 --pid PID [--data-dir DIR]
"""

import argparse
import os
import time

import boto3
from botocore.config import Config

ITEM_VALUE_BYTES = 380 * 1024
ITEMS_PER_BATCH = 25


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def dir_mib(path: str) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total / (1024 * 1024)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--batches", type=int, default=100)
    args = parser.parse_args()
    client = boto3.client(
        "dynamodb",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 10}, read_timeout=120),
    )
    client.create_table(
        TableName="big",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    peak = 0.0
    started = time.time()
    for batch in range(args.batches):
        value = chr(ord("a") + batch % 26) * ITEM_VALUE_BYTES
        requests = [
            {"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "v": {"S": value}}}}
            for i in range(ITEMS_PER_BATCH)
        ]
        client.batch_write_item(RequestItems={"big": requests})
        peak = max(peak, rss_mib(args.pid))
        if (batch + 1) % 20 == 0:
            disk = f", data dir {dir_mib(args.data_dir):.0f} MiB" if args.data_dir else ""
            print(f"after {batch + 1} batches ({(batch + 1) * 9.5:.0f} MB written): "
                  f"RSS {rss_mib(args.pid):.0f} MiB (peak {peak:.0f}){disk}", flush=True)
    print(f"{args.batches} batches in {time.time() - started:.1f} s; peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
