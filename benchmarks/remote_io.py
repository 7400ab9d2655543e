"""Benchmark: checkpoint save/load on S3 (a loopback S3 server): savepoint vs s3fs put/cat.

savepoint saves a ~--size-mb float32 state as a TF checkpoint at ``s3://<bucket>/sp/cp.ckpt``
(``write_bundle``: the data file streamed as a concurrent multipart upload while crc32c is
computed, then the index) and loads it back into preallocated torch tensors (``BundleReader``:
concurrent ranged GETs into one buffer, every crc32c verified, one copy into each target). The
peer moves the same bytes with s3fs: ``put_file`` of a local file holding them (page cache warm;
s3fs uploads its parts concurrently) and ``cat_file`` (concurrent ranged GETs) followed by the
same copies into the targets. Interleaved pairs, order alternating; printed ratios are medians of
per-pair ratios, as throughput savepoint / s3fs (goal from issue 9: >= 0.8x).

By default the server is moto's (``ThreadedMotoServer``) started here on 127.0.0.1; with
``--endpoint URL`` (and the AWS_* variables set) any S3-API server is used instead.

    .venv/bin/python benchmarks/remote_io.py                  # ~400 MB, 3 pairs
    .venv/bin/python benchmarks/remote_io.py --size-mb 100 --pairs 5
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkpoint_io import make_state  # noqa: E402

MB = 1 << 20
GOAL = 0.8


def start_server() -> object:
    """moto's S3 server on a free loopback port; sets the AWS environment for s3fs."""
    import logging
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                       "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "NO_PROXY": "127.0.0.1"})
    return server


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=400)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--endpoint", default=None, help="an S3-API server already running")
    args = parser.parse_args()
    server = None
    if args.endpoint:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint
    else:
        server = start_server()

    import s3fs
    from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader, write_bundle
    peer = s3fs.S3FileSystem(use_listings_cache=False, skip_instance_cache=True,
                             config_kwargs={"read_timeout": 300})  # as savepoint's
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    peer.call_s3("create_bucket", Bucket=bucket)
    state = make_state(args.size_mb)
    total = sum(a.nbytes for a in state.values())
    targets = {name: torch.empty(a.shape, dtype=torch.float32) for name, a in state.items()}
    raw_dir = tempfile.mkdtemp(prefix="remote-io-")
    raw = os.path.join(raw_dir, "raw.bin")
    with open(raw, "wb") as f:
        for a in state.values():
            f.write(memoryview(a).cast("B"))
    spans, offset = {}, 0
    for name, a in state.items():
        spans[name] = (offset, a.nbytes)
        offset += a.nbytes
    prefix = f"s3://{bucket}/sp/cp.ckpt"
    raw_url = f"s3://{bucket}/peer/raw.bin"

    def sp_save() -> None:
        write_bundle(prefix, state)

    def sp_load() -> None:
        with BundleReader(prefix) as reader:
            reader.read_many_into({name: t.numpy() for name, t in targets.items()})

    def peer_save() -> None:
        peer.put_file(raw, raw_url)

    def peer_load() -> None:
        data = memoryview(peer.cat_file(raw_url))
        for name, t in targets.items():
            start, size = spans[name]
            t.numpy().reshape(-1).view(np.uint8)[:] = np.frombuffer(data[start:start + size],
                                                                    np.uint8)

    print(f"state: {len(state)} tensors, {total / MB:.0f} MB; server: "
          f"{'moto (loopback)' if server else args.endpoint}; torch threads "
          f"{torch.get_num_threads()}; pairs {args.pairs}")
    save_ratios, load_ratios = [], []
    for pair in range(args.pairs):
        runs = [("sp_save", sp_save), ("peer_save", peer_save)]
        if pair % 2:
            runs.reverse()
        times = {name: timed(fn) for name, fn in runs}
        runs = [("sp_load", sp_load), ("peer_load", peer_load)]
        if pair % 2:
            runs.reverse()
        times.update({name: timed(fn) for name, fn in runs})
        for name, t in targets.items():  # what was loaded is what was saved
            assert np.array_equal(t.numpy(), state[name]), name
        save_ratios.append(times["peer_save"] / times["sp_save"])
        load_ratios.append(times["peer_load"] / times["sp_load"])
        print(f"pair {pair + 1}: save savepoint {times['sp_save']:.2f}s "
              f"({total / MB / times['sp_save']:.0f} MB/s), s3fs put {times['peer_save']:.2f}s "
              f"({total / MB / times['peer_save']:.0f} MB/s); load savepoint "
              f"{times['sp_load']:.2f}s ({total / MB / times['sp_load']:.0f} MB/s), s3fs cat "
              f"{times['peer_load']:.2f}s ({total / MB / times['peer_load']:.0f} MB/s)")
    for label, ratios in (("save", save_ratios), ("load", load_ratios)):
        median = statistics.median(ratios)
        print(f"median {label} throughput savepoint / s3fs: {median:.3f}x "
              f"(goal >= {GOAL}x: {'met' if median >= GOAL else 'NOT met'})")
    os.remove(raw)
    os.rmdir(raw_dir)
    peer.rm(f"s3://{bucket}", recursive=True)
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()
