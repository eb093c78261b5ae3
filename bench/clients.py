#!/usr/bin/env python3
"""The Python side of the client benchmark: qbittorrent-api doing the work
that upseed's adapter does, on a fresh daemon of the same kind.

Adds every .torrent in a folder (one call per torrent, as the library
does), waits until all seed, then reads the state of all of them. Prints
one JSON object of timings in seconds.
"""

import argparse
import json
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("client", choices=["qbittorrent"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--torrents", required=True, type=pathlib.Path)
    parser.add_argument("--save", required=True)
    args = parser.parse_args()
    torrents = sorted(args.torrents.glob("*.torrent"))
    print(json.dumps(qbittorrent(args, torrents)))


if __name__ == "__main__":
    main()
