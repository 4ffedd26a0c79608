"""The Python side of BenchmarkProxyImaplib (proxy_bench_test.go).

One process runs one thread per IMAP session given in the JSON of the
BENCH environment variable:

  {"mode": "fill" | "fetch", "addr": "host:port", "ca": PEM file or "" (plain),
   "auth": "login" | "xoauth2", "messages": N, "sessions": [[user, secret], ...],
   "phases": [interval ms, ...]}  (fetch only)

fill: each session appends messages 1..N (body(user, i)) to its empty INBOX
and logs out; the process prints "filled".

fetch: each session logs in (LOGIN with the proxy password, or AUTHENTICATE
XOAUTH2 with the token) and selects INBOX read-only; then the process prints
"ready". For each phase it waits for a line on stdin; on it every session
fetches messages 1..N one at a time (BODY.PEEK[]), timing each FETCH and
comparing the body byte for byte with body(user, i): back to back when the
phase's interval is 0, else one FETCH every interval ms. When all sessions
have, the process prints one JSON line {"lat_us": [...], "errors": [...]}.
After the last phase it waits for stdin to close, then the sessions log
out.
"""
import imaplib
import json
import os
import random
import ssl
import sys
import threading
import time


def body(user, i):
    head = "From: %s\r\nTo: %s\r\nSubject: bench %d\r\n\r\n" % (user, user, i)
    return head.encode() + bytes([ord("a") + i % 26]) * (2000 + i) + b"\r\n"


def connect(cfg, user, secret):
    host, port = cfg["addr"].rsplit(":", 1)
    if cfg["ca"]:
        ctx = ssl.create_default_context(cafile=cfg["ca"])
        m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx, timeout=120)
    else:
        m = imaplib.IMAP4(host, int(port), timeout=120)
    if cfg["auth"] == "xoauth2":
        sasl = ("user=%s\x01auth=Bearer %s\x01\x01" % (user, secret)).encode()
        m.authenticate("XOAUTH2", lambda _: sasl)
    else:
        m.login(user, secret)
    return m


def fill(cfg):
    n = cfg["messages"]
    errors = []

    def one(user, secret):
        try:
            m = connect(cfg, user, secret)
            typ, data = m.select("INBOX")
            if typ != "OK" or int(data[0]) != 0:
                raise RuntimeError("INBOX of %s is not empty: %s %s" % (user, typ, data))
            for i in range(n):
                typ, data = m.append("INBOX", None, None, body(user, i))
                if typ != "OK":
                    raise RuntimeError("APPEND %d: %s %s" % (i + 1, typ, data))
            m.logout()
        except Exception as e:  # reported, the benchmark fails
            errors.append("%s: %r" % (user, e))

    threads = [threading.Thread(target=one, args=s) for s in cfg["sessions"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("fill: " + "; ".join(errors))
    print("filled", flush=True)


def fetch(cfg):
    n, sessions, phases = cfg["messages"], cfg["sessions"], cfg["phases"]
    ready = threading.Barrier(len(sessions) + 1)
    done = [threading.Barrier(len(sessions) + 1) for _ in phases]
    go = [threading.Event() for _ in phases]
    bye = threading.Event()
    lat, errors = [[] for _ in phases], []
    lock = threading.Lock()

    def one(user, secret):
        m = None
        try:
            m = connect(cfg, user, secret)
            typ, data = m.select("INBOX", readonly=True)
            if typ != "OK" or int(data[0]) != n:
                raise RuntimeError("INBOX of %s: %s %s, want %d messages" % (user, typ, data, n))
        except Exception as e:
            with lock:
                errors.append("%s login: %r" % (user, e))
            m = None
        ready.wait()
        for k, interval in enumerate(phases):
            go[k].wait()
            mine = []
            if m is not None:
                # Paced: one FETCH every interval ms from a random start
                # within the first interval (sessions spread out), or at
                # once when the previous one took longer.
                first = time.perf_counter() + random.uniform(0, interval) / 1e3
                try:
                    for i in range(n):
                        if interval:
                            wait = first + i * interval / 1e3 - time.perf_counter()
                            if wait > 0:
                                time.sleep(wait)
                        start = time.perf_counter()
                        typ, data = m.fetch(str(i + 1), "(BODY.PEEK[])")
                        mine.append(int((time.perf_counter() - start) * 1e6))
                        if typ != "OK" or not isinstance(data[0], tuple) or data[0][1] != body(user, i):
                            raise RuntimeError("message %d came back wrong: %s %.200r" % (i + 1, typ, data))
                except Exception as e:
                    with lock:
                        errors.append("%s: %r" % (user, e))
                    m = None
            with lock:
                lat[k].extend(mine)
            done[k].wait()
        bye.wait()
        if m is not None:
            try:
                m.logout()
            except Exception:
                pass

    threads = [threading.Thread(target=one, args=s) for s in sessions]
    for t in threads:
        t.start()
    ready.wait()
    print("ready", flush=True)
    for k in range(len(phases)):
        sys.stdin.readline()
        go[k].set()
        done[k].wait()
        print(json.dumps({"lat_us": lat[k], "errors": errors}), flush=True)
    sys.stdin.read()
    bye.set()
    for t in threads:
        t.join()


if __name__ == "__main__":
    cfg = json.loads(os.environ["BENCH"])
    {"fill": fill, "fetch": fetch}[cfg["mode"]](cfg)
