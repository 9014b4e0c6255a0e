#!/usr/bin/env python3
"""Deterministic generator of DNS exfiltration emulations and benign DNS.

Emulates the tools Debian does not package (their on-the-wire name layouts
are reproduced from their public source/documentation; payloads are random
bytes, as the real tools encrypt/compress before encoding):

  dnscat2         hex packets (id, type, session, seq, ack, data) split in
                  labels, TXT/CNAME/MX at random, ~1 Hz idle polling
  dnsexfiltrator  `init.<b32(name|chunks)>.base32|base64.<domain>` then
                  `<chunk>.<data labels of 63>.<domain>`, TXT
  cs_beacon       Cobalt-Strike-style heartbeat-only DNS beacon: A query for
                  `<beacon id>.<domain>` (or with a cache-busting nonce), 60 s
                  sleep with 0-50 % jitter, idle answer 0.0.0.0 or a public
                  address, 2 hours
  slow16k/slow2k  low-and-slow exfiltration of 16 KB / 2 KB over 24 h,
                  base32 chunks, random times weighted to working hours

and benign traffic: ordinary lookups of many clients with a diurnal rate and
TCP connections to the resolved addresses, plus every false-positive trap
class (AV reputation lookups, DNSBLs, CDNs, cloud load balancers,
DKIM/DMARC/SPF/ACME, AD SRV and DC GUID names, DNS-SD, reverse lookups,
NTP pools, periodic monitoring lookups, Chrome random-label probes).

Everything is derived from the seed: same arguments, same bytes.

Usage:
  gen.py small <outdir>     the committed evaluation set (small)
  gen.py large <outdir>     the full set: 100 sessions per tool, >= 1 M benign queries
Each outdir gets *.pcap and truth.tsv (file, client, domain, tool, variant,
bytes, start). Benign files have no truth rows; trap.tsv lists the trap
domains.
"""
import os
import random
import struct
import sys

WORDS = ("alpha bravo cedar delta ember falcon garnet harbor indigo juniper kestrel lumen maple nimbus orbit pixel "
         "quartz raven sierra tundra umber vertex willow xenon yarrow zephyr north river stone cloud bright green "
         "blue red silver golden swift prime smart data media tech soft net web info shop store market group labs "
         "works systems solutions global digital energy power water health bank travel news sport city home").split()
HOSTS = ("www mail api cdn static img images login auth portal app m news shop docs help support update updates "
         "download assets media video search maps accounts secure status blog wiki ftp vpn owa autodiscover "
         "outlook teams sharepoint calendar drive store s1 s2 img1 img2 edge ws push").split()
TLDS = ["com", "com", "com", "net", "org", "io", "de", "co.uk", "es", "fr", "it", "eu", "info"]
B32 = "abcdefghijklmnopqrstuvwxyz234567"
HEX = "0123456789abcdef"
B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


class Pcap:
    """Classic pcap writer, Ethernet/IPv4/UDP|TCP, packets sorted at close."""

    def __init__(self, path):
        self.path = path
        self.pkts = []

    def dns(self, ts, src, dst, sport, dport, payload):
        self.pkts.append((ts, len(self.pkts), self._ip(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)))

    def syn(self, ts, src, dst, sport, dport):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
        self.pkts.append((ts, len(self.pkts), self._ip(src, dst, 6, tcp)))

    def udp_flow(self, ts, src, dst, sport, dport):
        self.pkts.append((ts, len(self.pkts), self._ip(src, dst, 17, struct.pack("!HHHH", sport, dport, 56, 0) + bytes(48))))

    @staticmethod
    def _ip(src, dst, proto, l4):
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, bytes(src), bytes(dst))
        return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip + l4

    def close(self):
        self.pkts.sort(key=lambda p: (p[0], p[1]))
        with open(self.path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for ts, _, data in self.pkts:
                sec = int(ts)
                usec = int(round((ts - sec) * 1e6))
                if usec >= 1_000_000:
                    sec, usec = sec + 1, usec - 1_000_000
                f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
                f.write(data)


def qname_wire(name):
    out = b""
    for lab in name.split("."):
        b = lab.encode("latin-1")
        out += bytes([len(b)]) + b
    return out + b"\x00"


QT = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33, "NULL": 10, "KEY": 25}


def query(tid, name, qtype):
    return struct.pack("!HHHHHH", tid, 0x0100, 1, 0, 0, 0) + qname_wire(name) + struct.pack("!HH", QT[qtype], 1)


def response(tid, name, qtype, answers, rcode=0, ttl=300):
    """answers: list of (type, rdata bytes)."""
    body = qname_wire(name) + struct.pack("!HH", QT[qtype], 1)
    for t, rd in answers:
        body += struct.pack("!HHHIH", 0xC00C, QT[t], 1, ttl, len(rd)) + rd
    return struct.pack("!HHHHHH", tid, 0x8180 | rcode, 1, len(answers), 0, 0) + body


def txt(s):
    b = s.encode()
    out = b""
    while b:
        out += bytes([min(255, len(b))]) + b[:255]
        b = b[255:]
    return out or b"\x00"


class Net:
    def __init__(self, pcap, rng, resolver=(10, 10, 0, 53)):
        self.p = pcap
        self.r = rng
        self.resolver = resolver
        self.n = 0

    def lookup(self, ts, client, name, qtype="A", answers=None, rcode=0, connect=None, rtt=0.02, ttl=300):
        """One query/response; optional connection to the first A answer."""
        tid = self.r.randrange(65536)
        sport = self.r.randrange(20000, 60000)
        self.p.dns(ts, client, self.resolver, sport, 53, query(tid, name, qtype))
        ans = answers if answers is not None else []
        self.p.dns(ts + rtt, self.resolver, client, 53, sport, response(tid, name, qtype, ans, rcode, ttl))
        self.n += 1
        if connect is not None:
            for t, rd in ans:
                if t == "A":
                    port, proto = connect
                    if proto == "tcp":
                        self.p.syn(ts + rtt + 0.005, client, tuple(rd), self.r.randrange(20000, 60000), port)
                    else:
                        self.p.udp_flow(ts + rtt + 0.005, client, tuple(rd), self.r.randrange(20000, 60000), port)
                    break


def rand_str(r, alphabet, n):
    return "".join(r.choice(alphabet) for _ in range(n))


def b32(data):
    import base64
    return base64.b32encode(data).decode().lower().rstrip("=")


def split_labels(s, n=63):
    return ".".join(s[i:i + n] for i in range(0, len(s), n))


def pub_ip(r):
    return bytes([r.choice([23, 34, 52, 93, 104, 142, 151, 172, 185, 199, 203]), r.randrange(256), r.randrange(256), r.randrange(1, 255)])


def tunnel_domain(r):
    return f"{r.choice(WORDS)}-{r.choice(WORDS)}{r.randrange(10, 99)}.{r.choice(['com', 'net', 'org', 'io', 'info'])}"


# ---------------------------------------------------------------- tools


def dnscat2(net, r, client, dom, t, nbytes):
    sess = r.randrange(65536)
    seq = r.randrange(65536)
    sent = 0
    q = 0

    def one(ts, data):
        nonlocal q
        hdr = struct.pack("!HBHHH", r.randrange(65536), 1 if q else 0, sess, seq & 0xFFFF, 0)
        hexs = (hdr + data).hex()
        name = split_labels(hexs, 63) + "." + dom
        qt = r.choice(["TXT", "CNAME", "MX"])
        rd = {"TXT": ("TXT", txt(rand_str(r, HEX, 18))),
              "CNAME": ("CNAME", qname_wire(rand_str(r, HEX, 18) + "." + dom)),
              "MX": ("MX", struct.pack("!H", 10) + qname_wire(rand_str(r, HEX, 18) + "." + dom))}[qt]
        net.lookup(ts, client, name, qt, [rd], ttl=1)
        q += 1

    # SYN, then data at ~20 q/s, then idle polls at ~1 Hz for 60 s.
    one(t, b"")
    t += 0.05
    while sent < nbytes:
        chunk = min(nbytes - sent, r.randrange(60, 100))
        one(t, bytes(r.getrandbits(8) for _ in range(chunk)))
        seq += chunk
        sent += chunk
        t += r.uniform(0.03, 0.08)
    for _ in range(60):
        t += r.uniform(0.9, 1.1)
        one(t, b"")
    return q


def dnsexfiltrator(net, r, client, dom, t, nbytes, enc):
    fname = f"{r.choice(WORDS)}_{r.choice(WORDS)}.{r.choice(['docx', 'xlsx', 'zip', 'pdf'])}"
    data = bytes(r.getrandbits(8) for _ in range(nbytes))
    if enc == "base32":
        encd = b32(data)
    else:
        import base64
        encd = base64.urlsafe_b64encode(data).decode().rstrip("=")
    per = 63 * 3 if enc == "base32" else 63 * 3
    per = min(per, 250 - len(dom) - 8)
    chunks = [encd[i:i + per] for i in range(0, len(encd), per)]
    init = f"init.{b32(f'{fname}|{len(chunks)}'.encode())}.{enc}.{dom}"
    net.lookup(t, client, init, "TXT", [("TXT", txt("OK"))], ttl=1)
    q = 1
    throttle = r.choice([0.0, 0.0, 0.2, 1.0])
    for i, c in enumerate(chunks):
        t += throttle + r.uniform(0.02, 0.1)
        net.lookup(t, client, f"{i}.{split_labels(c, 63)}.{dom}", "TXT", [("TXT", txt("OK"))], ttl=1)
        q += 1
    return q


def cs_beacon(net, r, client, dom, t, hours=2.0):
    bid = rand_str(r, HEX, 8)
    jitter = r.choice([0.0, 0.1, 0.2, 0.3, 0.5])
    idle = bytes([0, 0, 0, 0]) if r.random() < 0.5 else bytes([8, 8, 4, 4])
    nonce = r.random() < 0.5
    end = t + hours * 3600
    q = 0
    while t < end:
        name = f"{rand_str(r, HEX, 8)}.{bid}.{dom}" if nonce else f"{bid}.{dom}"
        net.lookup(t, client, name, "A", [("A", idle)], ttl=1)
        q += 1
        t += 60 * (1 - r.uniform(0, jitter))
    return q


def slow(net, r, client, dom, t, nbytes):
    data = bytes(r.getrandbits(8) for _ in range(nbytes))
    enc = b32(data)
    L = r.randrange(30, 61)
    chunks = [enc[i:i + L] for i in range(0, len(enc), L)]
    # Times: 24 h, 80 % of them in working hours (08-18), sorted.
    times = []
    for _ in chunks:
        if r.random() < 0.8:
            times.append(t + 8 * 3600 + r.uniform(0, 10 * 3600))
        else:
            times.append(t + r.uniform(0, 24 * 3600))
    times.sort()
    qt = r.choice(["A", "TXT", "AAAA"])
    for i, (ts, c) in enumerate(zip(times, chunks)):
        name = f"{c}.{rand_str(r, B32, 4)}{i:x}.{dom}"
        if r.random() < 0.5:
            net.lookup(ts, client, name, qt, [], rcode=3)
        else:
            net.lookup(ts, client, name, qt, [("A", pub_ip(r))] if qt == "A" else [])
    return len(chunks)


# ---------------------------------------------------------------- benign


class Benign:
    def __init__(self, r, nclients, n_domains=3000):
        self.r = r
        self.clients = [(10, 10, 1 + i // 250, 1 + i % 250) for i in range(nclients)]
        self.domains = []
        for _ in range(n_domains):
            d = f"{r.choice(WORDS)}{r.choice(WORDS) if r.random() < 0.6 else ''}{r.choice(['', '', str(r.randrange(1, 99))])}.{r.choice(TLDS)}"
            self.domains.append(d)
        self.addr = {}

    def ip_for(self, name):
        if name not in self.addr:
            self.addr[name] = pub_ip(self.r)
        return self.addr[name]

    def ordinary(self, net, ts, c, fav):
        r = self.r
        d = fav[min(int(r.paretovariate(1.2)) - 1, len(fav) - 1)]
        kind = r.random()
        if kind < 0.75:
            name = f"{r.choice(HOSTS)}.{d}" if r.random() < 0.85 else d
            qt = "A" if r.random() < 0.7 else "AAAA"
            if qt == "A":
                net.lookup(ts, c, name, "A", [("A", self.ip_for(name))], connect=(443, "tcp") if r.random() < 0.92 else None)
            else:
                net.lookup(ts, c, name, "AAAA", [("AAAA", bytes(16))])
        elif kind < 0.80:
            net.lookup(ts, c, d, "MX", [("MX", struct.pack("!H", 10) + qname_wire("mx." + d))])
        elif kind < 0.83:
            net.lookup(ts, c, d, "TXT", [("TXT", txt("v=spf1 include:_spf." + d + " ~all"))])
        elif kind < 0.86:
            net.lookup(ts, c, f"{r.choice(HOSTS)}.{d}", "A", [], rcode=3)
        else:
            self.cdn(net, ts, c)

    def cdn(self, net, ts, c):
        r = self.r
        k = r.randrange(7)
        if k == 0:
            name = f"e{r.randrange(1000, 99999)}.{rand_str(r, 'abcdefghij', 4)}.akamaiedge.net"
        elif k == 1:
            name = f"d{rand_str(r, B32[:26] + '0123456789', 13)}.cloudfront.net"
        elif k == 2:
            name = f"rr{r.randrange(1, 9)}---sn-{rand_str(r, B32[:26] + '0123456789', 8)}.googlevideo.com"
        elif k == 3:
            name = f"internal-{r.choice(WORDS)}-{r.choice(WORDS)}-{r.randrange(10**9, 10**10)}.{r.choice(['us-east-1', 'eu-west-1'])}.elb.amazonaws.com"
        elif k == 4:
            name = f"{r.choice(WORDS)}-{rand_str(r, HEX, 12)}.{r.choice(['westeurope', 'eastus'])}.cloudapp.azure.com"
        elif k == 5:
            name = f"ipv4-c{r.randrange(1, 300):03d}-{r.choice(['mad', 'fra', 'lhr'])}001-ix.1.oca.nflxvideo.net"
        else:
            name = f"{rand_str(r, B32[:26], 10)}.{r.choice(['azureedge.net', 'fastly.net', 'edgekey.net'])}"
        net.lookup(ts, c, name, "A", [("CNAME", qname_wire("x.cdn.net")), ("A", self.ip_for(name))], connect=(443, "tcp"))


TRAPS = []


def trap(name):
    TRAPS.append(name)
    return name


def traps(net, r, b, t0, hours, scale):
    """False-positive trap classes, each by its own clients, realistic timing."""
    end = t0 + hours * 3600

    def poisson(rate_per_h, start=t0):
        t = start
        while True:
            t += r.expovariate(rate_per_h / 3600.0)
            if t >= end:
                return
            yield t

    mail = (10, 10, 200, 25)
    # DNSBL lookups of a mail server: reversed IPv4 and IPv6 nibbles, plus domain blocklists.
    for ts in poisson(400 * scale):
        ip = pub_ip(r)
        rev = ".".join(str(x) for x in reversed(ip))
        zone = r.choice([trap("zen.spamhaus.org"), trap("bl.spamcop.net"), trap("b.barracudacentral.org"), trap("dnsbl.sorbs.net")])
        net.lookup(ts, mail, f"{rev}.{zone}", "A", [], rcode=3)
        if r.random() < 0.2:
            nib = ".".join(rand_str(r, HEX, 32))
            net.lookup(ts + 0.01, mail, f"{nib}.{trap('zen.spamhaus.org')}", "A", [], rcode=3)
        if r.random() < 0.3:
            d = r.choice(b.domains)
            net.lookup(ts + 0.02, mail, f"{d}.{trap('multi.uribl.com')}", "A", [], rcode=3)
            net.lookup(ts + 0.03, mail, f"{d}.{trap('dbl.spamhaus.org')}", "A", [], rcode=3)
        # DKIM / DMARC / SPF of the sender.
        d = r.choice(b.domains)
        net.lookup(ts + 0.05, mail, f"{r.choice(['selector1', 'selector2', 'google', 's1', 'k1', 'default'])}._domainkey.{d}", "TXT",
                   [("TXT", txt("v=DKIM1; k=rsa; p=" + rand_str(r, B64U, 300)))])
        net.lookup(ts + 0.06, mail, f"_dmarc.{d}", "TXT", [("TXT", txt("v=DMARC1; p=none"))])
        if r.random() < 0.05:
            net.lookup(ts + 0.07, mail, f"_mta-sts.{d}", "TXT", [], rcode=3)
    # AV reputation lookups from workstations.
    for i in range(int(40 * scale) + 1):
        c = b.clients[i % len(b.clients)]
        vendor = i % 4
        for ts in poisson(r.uniform(10, 60)):
            if vendor == 0:
                name = f"{rand_str(r, HEX, 40)}.{rand_str(r, HEX, 8)}.fs.{trap('sophosxl.net')}"
                net.lookup(ts, c, name, "A", [("A", bytes([127, 0, 0, r.randrange(1, 5)]))])
            elif vendor == 1:
                name = f"0.0.0.0.1.0.0.4e.{rand_str(r, B32, 26)}.avqs.{trap('mcafee.com')}"
                net.lookup(ts, c, name, "A", [("A", bytes([127, 0, 0, 1]))])
            elif vendor == 2:
                name = f"{rand_str(r, HEX, 32)}.{rand_str(r, HEX, 16)}.url.{trap('trendmicro.com')}"
                net.lookup(ts, c, name, "A", [("A", bytes([127, 0, 0, 1]))])
            else:
                name = f"{rand_str(r, HEX, 32)}.{trap('e5.sk')}"
                net.lookup(ts, c, name, "TXT", [("TXT", txt("ok"))])
    # AD: DC locator SRV, DC GUID CNAMEs, Kerberos — periodic, internal.
    ad = trap("ad.corp")
    guids = [f"{rand_str(r, HEX, 8)}-{rand_str(r, HEX, 4)}-{rand_str(r, HEX, 4)}-{rand_str(r, HEX, 4)}-{rand_str(r, HEX, 12)}" for _ in range(4)]
    for i in range(min(len(b.clients), int(60 * scale) + 1)):
        c = b.clients[i]
        for ts in poisson(6):
            net.lookup(ts, c, f"_ldap._tcp.dc._msdcs.{ad}", "SRV", [("SRV", struct.pack("!HHH", 0, 100, 389) + qname_wire("dc01." + ad))])
            net.lookup(ts + 0.01, c, f"{r.choice(guids)}._msdcs.{ad}", "CNAME", [("CNAME", qname_wire("dc01." + ad))])
            net.lookup(ts + 0.02, c, f"_kerberos._tcp.{r.choice(['hq', 'plant'])}._sites.dc._msdcs.{ad}", "SRV", [])
    # DNS-SD (unicast) and reverse lookups from a log server.
    logsrv = (10, 10, 200, 10)
    for ts in poisson(120 * scale):
        net.lookup(ts, logsrv, f"{r.randrange(1, 255)}.{r.randrange(256)}.10.10.{trap('in-addr.arpa')}", "PTR", [], rcode=3)
        if r.random() < 0.2:
            net.lookup(ts + 0.01, logsrv, ".".join(rand_str(r, HEX, 32)) + "." + trap("ip6.arpa"), "PTR", [], rcode=3)
        if r.random() < 0.1:
            net.lookup(ts + 0.02, logsrv, f"{r.choice(['b', 'db', 'lb', 'r'])}._dns-sd._udp.{trap('plant.lan')}", "PTR", [], rcode=3)
            net.lookup(ts + 0.03, logsrv, f"_services._dns-sd._udp.{trap('plant.lan')}", "PTR", [], rcode=3)
    # ACME DNS-01 from a certificate manager, a few per day.
    cm = (10, 10, 200, 30)
    for ts in poisson(2):
        d = r.choice(b.domains)
        net.lookup(ts, cm, f"_acme-challenge.{r.choice(HOSTS)}.{d}", "TXT", [("TXT", txt(rand_str(r, B64U, 43)))])
    # NTP pool every ~1024 s, with the NTP flows.
    for i in range(min(len(b.clients), int(20 * scale) + 1)):
        c = b.clients[-1 - i]
        t = t0 + r.uniform(0, 1024)
        while t < end:
            n = f"{r.randrange(4)}.{trap('pool.ntp.org')}"
            net.lookup(t, c, n, "A", [("A", b.ip_for(n))], connect=(123, "udp"))
            t += 1024 * r.uniform(0.98, 1.02)
    # Monitoring: a poller resolving plant hosts every 60 s without connecting.
    mon = (10, 10, 200, 40)
    t = t0
    while t < end:
        for h in ["historian01", "hmi02", "eng-ws03"]:
            net.lookup(t + r.uniform(0, 0.5), mon, f"{h}.{trap('plant.corp')}", "A", [("A", bytes([10, 10, 5, 5]))])
        t += 60 + r.uniform(-0.3, 0.3)
    # Telemetry with per-device identifiers, every ~5 min, connecting.
    for i in range(min(len(b.clients), int(30 * scale) + 1)):
        c = b.clients[i * 7 % len(b.clients)]
        dev = rand_str(r, HEX, 16)
        t = t0 + r.uniform(0, 300)
        while t < end:
            n = f"{dev}.device.{trap('telemetry-hub.com')}"
            net.lookup(t, c, n, "A", [("A", b.ip_for(n))], connect=(443, "tcp"))
            t += 300 * r.uniform(0.9, 1.1)
    # Chrome's random single-label intranet probes (NXDOMAIN).
    for ts in poisson(30 * scale):
        c = r.choice(b.clients)
        for _ in range(3):
            net.lookup(ts, c, rand_str(r, B32[:26], r.randrange(7, 16)), "A", [], rcode=3)


def benign(path, seed, nclients, hours, target_queries, with_traps=True, scale=1.0):
    r = random.Random(seed)
    p = Pcap(path)
    net = Net(p, r)
    b = Benign(r, nclients)
    favs = [r.sample(b.domains, 60) for _ in b.clients]
    t0 = T0
    ordinary_target = target_queries
    # Diurnal rate: each client's rate follows a working-day curve.
    per_client = ordinary_target / nclients
    for ci, c in enumerate(b.clients):
        t = t0
        base = per_client / (hours * 3600)
        while True:
            hod = ((t - t0) / 3600) % 24
            factor = 1.6 if 8 <= hod < 18 else 0.4
            t += r.expovariate(base * factor)
            if t >= t0 + hours * 3600:
                break
            b.ordinary(net, t, c, favs[ci])
    if with_traps:
        traps(net, r, b, t0, hours, scale)
    p.close()
    return net.n


def tools(outdir, seed, counts, truth):
    r = random.Random(seed)
    for tool, n in zip(["dnscat2", "dnsexfiltrator", "cs_beacon", "slow16k", "slow2k"], counts):
        p = Pcap(os.path.join(outdir, f"{tool}.pcap"))
        net = Net(p, r, resolver=(10, 20, 0, 53))
        for i in range(n):
            client = (10, 20, 1 + i // 250, 1 + i % 250)
            dom = tunnel_domain(r)
            t = T0 + i * 7.0 + r.uniform(0, 5)
            if tool == "dnscat2":
                nb = r.randrange(2048, 16384)
                dnscat2(net, r, client, dom, t, nb)
                var = "hex"
            elif tool == "dnsexfiltrator":
                var = r.choice(["base32", "base64"])
                nb = r.randrange(2048, 16384)
                dnsexfiltrator(net, r, client, dom, t, nb, var)
            elif tool == "cs_beacon":
                nb = 0
                var = "heartbeat"
                cs_beacon(net, r, client, dom, t)
            elif tool == "slow16k":
                nb = 16384
                var = "base32"
                slow(net, r, client, dom, t, nb)
            else:
                nb = 2048
                var = "base32"
                slow(net, r, client, dom, t, nb)
            truth.append((f"{tool}.pcap", ".".join(map(str, client)), dom, tool, var, nb, t))
        p.close()


def main():
    mode, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    truth = []
    if mode == "small":
        tools(outdir, 20261, [3, 3, 2, 1, 2], truth)
        n = benign(os.path.join(outdir, "benign.pcap"), 777, nclients=40, hours=6, target_queries=2500, scale=0.1)
    elif mode == "large":
        tools(outdir, 31337, [100] * 5, truth)
        n = benign(os.path.join(outdir, "benign.pcap"), 4242, nclients=500, hours=24, target_queries=1_000_000, scale=1.0)
    else:
        raise SystemExit(__doc__)
    with open(os.path.join(outdir, "truth.tsv"), "w") as f:
        f.write("file\tclient\tdomain\ttool\tvariant\tbytes_pushed\tstart\n")
        for row in truth:
            f.write("\t".join(str(x) for x in row) + "\n")
    with open(os.path.join(outdir, "traps.tsv"), "w") as f:
        f.write("trap_domain\n")
        for d in sorted(set(TRAPS)):
            f.write(d + "\n")
    print(f"{mode}: {len(truth)} tool sessions, {n} benign lookups -> {outdir}")


if __name__ == "__main__":
    main()
