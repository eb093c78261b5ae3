#!/usr/bin/env python3
"""An independent implementation of docs/PROTOCOL.md, in Python.

It rebuilds every golden vector from its input.json using only the rules
in PROTOCOL.md, compares the signed message and the .torrent file with the
stored ones byte for byte, and verifies the signature and the body. It
shares no code with the Rust implementation: if the two agree, the
document is precise enough to write a compatible implementation from.

Needs the `cryptography` package (pip install cryptography).
"""

import hashlib
import json
import pathlib
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PIECE = 16384


def benc(value):
    """Canonical bencode (PROTOCOL.md section 2.1)."""
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(benc(v) for v in value) + b"e"
    if isinstance(value, dict):
        keys = sorted(k.encode() if isinstance(k, str) else k for k in value)
        items = {(k.encode() if isinstance(k, str) else k): v for k, v in value.items()}
        return b"d" + b"".join(benc(k) + benc(items[k]) for k in keys) + b"e"
    raise TypeError(value)


def build(inp):
    secret = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(inp["seed"]))
    author = secret.public_key().public_bytes_raw()
    body = inp["body"].replace("\r\n", "\n").encode()  # section 4
    pieces = b"".join(hashlib.sha1(body[i:i + PIECE]).digest() for i in range(0, len(body), PIECE))
    header = {
        "author": author,
        "created": inp["created"],
        "sha256": hashlib.sha256(body).digest(),
        "version": 1,
    }
    if inp["parent"] is None:
        header["kind"] = "post"
        if inp["title"] is not None:
            header["title"] = inp["title"]
        if inp["community"] is not None:
            header["community"] = inp["community"].strip().lower()
    else:
        header["kind"] = "comment"
        header["parent"] = bytes.fromhex(inp["parent"])
        header["root"] = bytes.fromhex(inp["root"])
    signed = dict(header, length=len(body), pieces=pieces)  # section 6
    message = b"upseed/record/v1\x00" + benc(signed)
    sig = secret.sign(message)
    name = "upseed-" + hashlib.sha256(message).digest()[:16].hex() + ".txt"  # section 7
    info = {
        "length": len(body),
        "name": name,
        "piece length": PIECE,
        "pieces": pieces,
        "upseed": dict(header, sig=sig),
    }
    torrent = {"info": info}  # section 8
    if inp["trackers"]:
        torrent["announce"] = inp["trackers"][0]
        torrent["announce-list"] = [[t] for t in inp["trackers"]]
    info_bytes = benc(info)
    secret.public_key().verify(sig, message)
    return message, benc(torrent), hashlib.sha1(info_bytes).hexdigest(), body


def derive(*parts):
    """A board's key pair from its seed parts (PROTOCOL.md section 17)."""
    seed = hashlib.sha256(b"".join(len(p).to_bytes(4, "big") + p for p in parts)).digest()
    return seed, Ed25519PrivateKey.from_private_bytes(seed)


def public(secret):
    return secret.public_key().public_bytes_raw()


def signable(salt, seq, value):
    """BEP 44's signed buffer, `v` a byte string (section 17)."""
    return b"4:salt%d:%s3:seqi%de1:v%d:%s" % (len(salt), salt, seq, len(value), value)


def check_dht(doc):
    problems = []
    o = doc["outbox"]["input"]
    secret = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(o["seed"]))
    h = bytes.fromhex
    outbox = {
        "a": o["about"].encode(),
        "f": b"".join(h(k) for k in o["follows"]),
        "i": h(o["index"]),
        "n": o["name"].encode(),
        "p": b"".join(h(x) for x in o["posts"]),
        "r": b"".join(h(x) for x in o["replies"]),
        "u": b"".join(h(x) for x in o["upvotes"]),
    }
    value = benc({k: v for k, v in outbox.items() if v})
    message = signable(b"upseed/outbox/1", o["seq"], value)
    expected = doc["outbox"]["expected"]
    if value.hex() != expected["value"]:
        problems.append("outbox value differs")
    if message.hex() != expected["signable"]:
        problems.append("outbox signed buffer differs")
    if secret.sign(message).hex() != expected["signature"]:
        problems.append("outbox signature differs")
    if public(secret).hex() != expected["public_key"]:
        problems.append("outbox key differs")

    c = doc["community_board"]["input"]
    community = c["community"].strip().lower().encode()  # section 4
    bucket = c["created"] // 21600
    shard = h(c["entries"][0])[0] % 4
    seed, board = derive(b"upseed/community-board/1", community, bucket.to_bytes(8, "big"), bytes([shard]))
    expected = doc["community_board"]["expected"]
    # Each entry: the infohash, then a nonce whose work reaches the
    # difficulty (leading zero bits of SHA-256 over the domain, the
    # infohash and the nonce).
    for e, nonce in zip(c["entries"], expected["nonces"]):
        digest = hashlib.sha256(b"upseed/pow/1\0" + h(e) + nonce.to_bytes(8, "big")).digest()
        bits = 0
        for byte in digest:
            if byte:
                bits += 8 - byte.bit_length()
                break
            bits += 8
        if bits < expected["difficulty"]:
            problems.append(f"board entry {e}: its nonce proves {bits} bits of work")
    value = b"u2" + b"".join(h(e) + n.to_bytes(8, "big") for e, n in zip(c["entries"], expected["nonces"]))
    if (bucket, shard) != (expected["bucket"], expected["shard"]):
        problems.append("bucket or shard differs")
    if seed.hex() != expected["seed"] or public(board).hex() != expected["public_key"]:
        problems.append("community board key differs")
    if value.hex() != expected["value"]:
        problems.append("board value differs")
    if board.sign(signable(b"upseed/board/1", c["seq"], value)).hex() != expected["signature"]:
        problems.append("board signature differs")

    seed, board = derive(b"upseed/reply-board/1", h(doc["reply_board"]["input"]["post"]))
    expected = doc["reply_board"]["expected"]
    if seed.hex() != expected["seed"] or public(board).hex() != expected["public_key"]:
        problems.append("reply board key differs")
    return problems


MAX_INDEX_BODY = 256 * 1024


def index_version(secret, created, prev, older, entries):
    """One signed outbox index version (section 18): info bytes and body."""
    body = benc([list(e) for e in entries])
    pieces = b"".join(hashlib.sha1(body[i:i + PIECE]).digest() for i in range(0, len(body), PIECE))
    header = {"author": public(secret), "created": created, "sha256": hashlib.sha256(body).digest(), "version": 1}
    if older is not None:
        header["older"] = older
    if prev is not None:
        header["prev"] = prev
    message = b"upseed/index/v1\x00" + benc(dict(header, length=len(body), pieces=pieces))
    name = "upseed-index-" + hashlib.sha256(message).digest()[:16].hex() + ".bin"
    info = {
        "length": len(body),
        "name": name,
        "piece length": PIECE,
        "pieces": pieces,
        "upseed-index": dict(header, sig=secret.sign(message)),
    }
    return benc(info), body, name


def check_index(doc):
    inp = doc["index_chain"]["input"]
    secret = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(inp["seed"]))

    def hash_of(i):
        return hashlib.sha1(b"entry" + i.to_bytes(4, "big")).digest()

    versions = []  # (infohash, older, entries, info, body, name, prev)
    for append in inp["appends"]:
        new = []
        for tag, value in append["entries"]:
            if isinstance(value, dict) and "hash" in value:
                new.append((tag.encode(), hash_of(value["hash"])))
            elif isinstance(value, dict):
                new += [(tag.encode(), hash_of(i)) for i in range(*value["hashes"])]
            elif len(value) == 64 and all(c in "0123456789abcdef" for c in value):
                new.append((tag.encode(), bytes.fromhex(value)))
            else:
                new.append((tag.encode(), value.encode()))
        while new:
            last = versions[-1] if versions else None
            entries = list(last["entries"]) if last else []
            size = 2 + sum(len(benc(list(e))) for e in entries)  # the list's l and e
            # Continue the last segment if the next entry fits, else start one.
            if last and size + len(benc(list(new[0]))) <= MAX_INDEX_BODY:
                older = last["older"]
            else:
                entries, size, older = [], 2, (last["infohash"] if last else None)
            taken = 0
            for entry in new:
                grown = size + len(benc(list(entry)))
                if grown > MAX_INDEX_BODY and taken:
                    break
                entries.append(entry)
                size = grown
                taken += 1
            new = new[taken:]
            prev = last["infohash"] if last else None
            info, body, name = index_version(secret, append["created"], prev, older, entries)
            versions.append({"infohash": hashlib.sha1(info).digest(), "older": older, "prev": prev,
                             "entries": entries, "info": info, "body": body, "name": name})
    problems = []
    expected = doc["index_chain"]["expected"]
    if len(versions) != len(expected):
        return [f"{len(versions)} versions, not {len(expected)}"]
    for n, (v, e) in enumerate(zip(versions, expected)):
        got = {
            "infohash": v["infohash"].hex(),
            "name": v["name"],
            "length": len(v["body"]),
            "prev": v["prev"].hex() if v["prev"] else None,
            "older": v["older"].hex() if v["older"] else None,
            "body_sha256": hashlib.sha256(v["body"]).hexdigest(),
            "torrent_sha256": hashlib.sha256(b"d4:info" + v["info"] + b"e").hexdigest(),
        }
        for key, value in got.items():
            if e[key] != value:
                problems.append(f"version {n + 1}: {key} differs")
    return problems


def check_supersede(doc):
    """Supersede records (section 19): an edit and a delete."""
    problems = []
    s = doc["supersede"]["input"]
    secret = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(s["seed"]))
    author = public(secret)
    target = bytes.fromhex(s["target"])
    salt = b"upseed/supersede/1/" + s["target"].encode()
    expected = doc["supersede"]["expected"]
    if author.hex() != expected["public_key"] or salt.decode() != expected["salt"]:
        problems.append("supersede key or salt differs")
    for name, replacement, seq in [
        ("edit", bytes.fromhex(s["replacement"]), s["edit_seq"]),
        ("delete", None, s["delete_seq"]),
    ]:
        signed = {"author": author, "seq": seq, "target": target, "version": 1}
        if replacement is not None:
            signed["replacement"] = replacement
        message = b"upseed/supersede/v1\0" + benc(signed)
        encoded = benc(dict(signed, sig=secret.sign(message)))
        e = expected[name]
        if message.hex() != e["signed_message"]:
            problems.append(f"{name}: signed message differs")
        if encoded.hex() != e["encoded"]:
            problems.append(f"{name}: encoded form differs")
        if secret.sign(signable(salt, seq, encoded)).hex() != e["item_signature"]:
            problems.append(f"{name}: item signature differs")
    return problems


def check_mute_list(doc):
    """Mute lists (section 20): a short list in its item, a long one as a torrent."""
    problems = []
    m = doc["mute_list"]["input"]
    secret = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(m["seed"]))
    author = public(secret)
    salt = b"upseed/mutes/1"
    created = m["created"]
    expected = doc["mute_list"]["expected"]
    if author.hex() != expected["public_key"] or salt.decode() != expected["salt"]:
        problems.append("mute list key or salt differs")

    def signed_list(entries):
        entries = sorted(entries, key=lambda e: (e[0], e[1]))
        signed = {"author": author, "created": created, "entries": entries, "version": 1}
        message = b"upseed/mutes/v1\0" + benc(signed)
        return message, benc(dict(signed, sig=secret.sign(message)))

    def torrent_info(encoded):
        """The list torrent's info dict, built from the list, and its file name."""
        pieces = b"".join(
            hashlib.sha1(encoded[i:i + PIECE]).digest() for i in range(0, len(encoded), PIECE))
        name = "upseed-mutes-" + hashlib.sha256(encoded).hexdigest()[:32] + ".bin"
        return benc({"length": len(encoded), "name": name, "piece length": PIECE,
                     "pieces": pieces}), name

    def item_value(encoded):
        """The list itself when it fits in an item, else its torrent's infohash."""
        inline = benc({"l": encoded})
        if len(inline) <= 996:
            return inline
        return benc({"c": created, "t": hashlib.sha1(torrent_info(encoded)[0]).digest()})

    short = [
        [b"a", bytes.fromhex(m["author"])],
        [b"c", m["community"].encode()],
        [b"t", bytes.fromhex(m["thread"])],
        [b"w", m["word"].encode(), m["word_until"]],
    ]
    message, encoded = signed_list(short)
    e = expected["short"]
    value = item_value(encoded)
    if message.hex() != e["signed_message"]:
        problems.append("short list: signed message differs")
    if encoded.hex() != e["encoded"]:
        problems.append("short list: encoded form differs")
    if value.hex() != e["item_value"]:
        problems.append("short list: item value differs")
    if secret.sign(signable(salt, created, value)).hex() != e["item_signature"]:
        problems.append("short list: item signature differs")

    _, encoded = signed_list([[b"w", b"word%03d" % i] for i in range(m["long_words"])])
    e = expected["long"]
    info, name = torrent_info(encoded)
    value = item_value(encoded)
    got = {
        "encoded_sha256": hashlib.sha256(encoded).hexdigest(),
        "infohash": hashlib.sha1(info).hexdigest(),
        "name": name,
        "torrent_sha256": hashlib.sha256(b"d4:info" + info + b"e").hexdigest(),
        "item_value": value.hex(),
        "item_signature": secret.sign(signable(salt, created, value)).hex(),
    }
    for key, v in got.items():
        if e[key] != v:
            problems.append(f"long list: {key} differs")
    return problems


def main():
    root = pathlib.Path(__file__).resolve().parent
    checked = 0
    failed = 0
    for folder in sorted(p for p in root.iterdir() if (p / "input.json").exists()):
        message, torrent, infohash, body = build(json.loads((folder / "input.json").read_text()))
        problems = []
        if (folder / "signed-message.hex").read_text().strip() != message.hex():
            problems.append("signed message differs")
        if (folder / "record.torrent").read_bytes() != torrent:
            problems.append("torrent bytes differ")
        if (folder / "infohash").read_text().strip() != infohash:
            problems.append("infohash differs")
        if (folder / "body.txt").read_bytes() != body:
            problems.append("body differs")
        checked += 1
        failed += bool(problems)
        print(f"{folder.name}: {'; '.join(problems) or 'ok'} ({infohash})")
    if checked < 3:
        print("expected at least 3 vectors")
        failed += 1
    problems = check_dht(json.loads((root / "dht.json").read_text()))
    print(f"dht: {'; '.join(problems) or 'ok'} (outbox, community board, reply board)")
    checked += 1
    failed += bool(problems)
    problems = check_index(json.loads((root / "dht.json").read_text()))
    print(f"index chain: {'; '.join(problems) or 'ok'} (3 versions, 2 segments)")
    checked += 1
    failed += bool(problems)
    problems = check_supersede(json.loads((root / "dht.json").read_text()))
    print(f"supersede: {'; '.join(problems) or 'ok'} (an edit and a delete)")
    checked += 1
    failed += bool(problems)
    problems = check_mute_list(json.loads((root / "dht.json").read_text()))
    print(f"mute list: {'; '.join(problems) or 'ok'} (one in its item, one as a torrent)")
    checked += 1
    failed += bool(problems)
    print(f"vectors: {checked - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
