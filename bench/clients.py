#!/usr/bin/env python3
"""The Python side of the client benchmark: qbittorrent-api or
transmission-rpc doing the work that upseed's adapter does, on a fresh
daemon of the same kind.

Adds every .torrent in a folder (one call per torrent, as the library
does), waits until all seed, then reads the state of all of them. Prints
one JSON object of timings in seconds.
"""

import argparse
import json
import os
import pathlib
import time


def qbittorrent(args, torrents):
    import qbittorrentapi

    client = qbittorrentapi.Client(host=args.url, username=args.username, password=args.password)
    client.auth_log_in()
    start = time.perf_counter()
    for path in torrents:
        client.torrents_add(
            torrent_files=path.read_bytes(),
            save_path=args.save,
            category="upseed",
            is_skip_checking=True,
            is_paused=False,
        )
    added = time.perf_counter() - start
    hashes = [p.stem for p in torrents]
    while True:
        states = client.torrents_info(torrent_hashes=hashes)
        if len(states) == len(hashes) and all(t.state in ("uploading", "stalledUP", "forcedUP") for t in states):
            break
        time.sleep(0.05)
    seeding = time.perf_counter() - start
    read_start = time.perf_counter()
    states = client.torrents_info(category="upseed")
    read = time.perf_counter() - read_start
    assert len(states) == len(hashes), (len(states), len(hashes))
    return {"add": added, "until_seeding": seeding, "read": read}


def transmission(args, torrents):
    from urllib.parse import urlparse

    import transmission_rpc

    url = urlparse(args.url)
    client = transmission_rpc.Client(
        protocol=url.scheme, host=url.hostname, port=url.port, path=url.path,
        username=args.username, password=args.password,
    )
    start = time.perf_counter()
    for path in torrents:
        client.add_torrent(path.read_bytes(), download_dir=args.save)
    added = time.perf_counter() - start
    hashes = [p.stem for p in torrents]
    while True:
        states = client.get_torrents(hashes, arguments=["id", "hashString", "status", "percentDone"])
        if len(states) == len(hashes) and all(t.status == "seeding" for t in states):
            break
        time.sleep(0.25)
    seeding = time.perf_counter() - start
    read_start = time.perf_counter()
    states = client.get_torrents(arguments=["id", "hashString", "name", "status", "percentDone", "labels", "trackerStats"])
    read = time.perf_counter() - read_start
    assert len(states) == len(hashes), (len(states), len(hashes))
    return {"add": added, "until_seeding": seeding, "read": read}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("client", choices=["qbittorrent", "transmission"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    # The password comes from the environment, never from argv.
    parser.add_argument("--torrents", required=True, type=pathlib.Path)
    parser.add_argument("--save", required=True)
    args = parser.parse_args()
    args.password = os.environ["UPSEED_BENCH_PASSWORD"]
    torrents = sorted(args.torrents.glob("*.torrent"))
    run = qbittorrent if args.client == "qbittorrent" else transmission
    print(json.dumps(run(args, torrents)))


if __name__ == "__main__":
    main()
