#!/usr/bin/env bash
# Capture real DNS tunnels made by the Debian-packaged tools iodine/iodined
# and dns2tcpc/dns2tcpd, between three network namespaces created here:
#
#   cx-cli 10.53.1.2 --veth--> cx-res 10.53.1.1 | 10.53.2.1 --veth--> cx-auth 10.53.2.2
#   (tunnel client)            (dnsmasq: forwards exfil-lab.net)       (iodined / dns2tcpd)
#
# Addresses exist only inside these namespaces; nothing touches a real
# network. Captures are taken on the client's side of the first veth (what a
# SPAN port in front of the site resolver sees), UDP/53 only, cut to
# MAX_PACKETS packets per session so the committed set stays small.
# Each session pushes PUSH_BYTES bytes (deterministic: seeded) upstream.
# Output: real/<tool>-<type>-<codec>.pcap and real/truth.tsv.
# Needs root. Usage: sudo pcaps/dns-exfil/make_real.sh [outdir]
set -euo pipefail
OUT=${1:-$(dirname "$0")/real}
MAX_PACKETS=${MAX_PACKETS:-240}
PUSH_BYTES=${PUSH_BYTES:-6000}
PY=/usr/bin/python3
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/cx-dnsexfil.XXXX)
NS="cx-cli cx-res cx-auth"

cleanup() {
  for p in $(cat "$WORK"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

setup() {
  for n in $NS; do ip netns del "$n" 2>/dev/null || true; ip netns add "$n"; ip -n "$n" link set lo up; done
  ip link add v-cli netns cx-cli type veth peer name v-res1 netns cx-res
  ip link add v-res2 netns cx-res type veth peer name v-auth netns cx-auth
  ip -n cx-cli addr add 10.53.1.2/24 dev v-cli; ip -n cx-cli link set v-cli up
  ip -n cx-res addr add 10.53.1.1/24 dev v-res1; ip -n cx-res link set v-res1 up
  ip -n cx-res addr add 10.53.2.1/24 dev v-res2; ip -n cx-res link set v-res2 up
  ip -n cx-auth addr add 10.53.2.2/24 dev v-auth; ip -n cx-auth link set v-auth up
  ip netns exec cx-res dnsmasq -k -C /dev/null --no-resolv --no-hosts --bind-interfaces \
    --listen-address=10.53.1.1 --server=/exfil-lab.net/10.53.2.2 --cache-size=0 \
    --pid-file="$WORK/dnsmasq.pidf" >/dev/null 2>&1 &
  echo $! > "$WORK/dnsmasq.pid"
  sleep 1
}

# A TCP sink on the server side that counts bytes.
sink() { # ns addr port
  ip netns exec "$1" $PY -c "
import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(('$2',$3)); s.listen(4)
while True:
    c,_=s.accept(); n=0
    while True:
        d=c.recv(65536)
        if not d: break
        n+=len(d)
        open('$WORK/sink-$3.count','w').write(str(n))
    c.close()
" >/dev/null 2>&1 &
  echo $! > "$WORK/sink-$3.pid"
}

push() { # ns addr port seed
  ip netns exec "$1" timeout 60 $PY -c "
import socket,random
r=random.Random($4); data=bytes(r.getrandbits(8) for _ in range($PUSH_BYTES))
s=socket.create_connection(('$2',$3),timeout=50); s.sendall(data); s.shutdown(socket.SHUT_WR)
try: s.recv(1)
except Exception: pass
s.close()
" || true
}

capture_start() { # file
  ip netns exec cx-cli tcpdump -i v-cli -U -n -s 0 -c "$MAX_PACKETS" -w "$1" udp port 53 >/dev/null 2>&1 &
  echo $! > "$WORK/tcpdump.pid"
  sleep 1
}

capture_stop() {
  sleep 1
  kill "$(cat "$WORK/tcpdump.pid")" 2>/dev/null || true
  wait "$(cat "$WORK/tcpdump.pid")" 2>/dev/null || true
  rm -f "$WORK/tcpdump.pid"
}

echo -e "file\tclient\tdomain\ttool\tvariant\tbytes_pushed" > "$OUT/truth.tsv"
setup
seed=1
# iodine: every record type with automatic codec, and TXT with every forced downstream codec.
for variant in NULL:auto TXT:Base32 TXT:Base64 TXT:Base64u TXT:Base128 TXT:Raw SRV:auto MX:auto CNAME:auto A:auto PRIVATE:auto; do
  t=${variant%%:*}; codec=${variant##*:}
  dom=i$seed.exfil-lab.net
  f="$OUT/iodine-$t-$codec.pcap"
  ip netns exec cx-auth iodined -f -c -P lab-secret -l 10.53.2.2 -p 53 -d dns0 10.99.$seed.1/24 "$dom" >"$WORK/iodined.log" 2>&1 &
  echo $! > "$WORK/iodined.pid"
  sleep 1
  capture_start "$f"
  opts=(-f -r -P lab-secret -T "$t" -d tun0)
  [ "$codec" != auto ] && opts+=(-O "$codec")
  ip netns exec cx-cli iodine "${opts[@]}" 10.53.1.1 "$dom" >"$WORK/iodine.log" 2>&1 &
  echo $! > "$WORK/iodine.pid"
  for _ in $(seq 1 40); do ip netns exec cx-cli ip addr show tun0 2>/dev/null | grep -q "inet " && break; sleep 0.5; done
  sink cx-auth 10.99.$seed.1 9000
  sleep 0.5
  push cx-cli 10.99.$seed.1 9000 $seed
  capture_stop
  kill "$(cat "$WORK/iodine.pid")" "$(cat "$WORK/iodined.pid")" "$(cat "$WORK/sink-9000.pid")" 2>/dev/null || true
  sleep 1
  got=$(cat "$WORK/sink-9000.count" 2>/dev/null || echo 0); rm -f "$WORK/sink-9000.count"
  echo "iodine -T $t -O $codec: $(tcpdump -r "$f" 2>/dev/null | wc -l) packets, sink got $got bytes"
  echo -e "$(basename "$f")\t10.53.1.2\texfil-lab.net\tiodine\t$t/$codec\t$got" >> "$OUT/truth.tsv"
  seed=$((seed+1))
done
# dns2tcp: TXT and KEY.
for t in TXT KEY; do
  dom=d$seed.exfil-lab.net
  f="$OUT/dns2tcp-$t.pcap"
  sink cx-auth 127.0.0.1 9000
  cat > "$WORK/dns2tcpd.conf" <<CONF
listen = 10.53.2.2
port = 53
user = root
chroot = $WORK
domain = $dom
resources = sink:127.0.0.1:9000
CONF
  ip netns exec cx-auth dns2tcpd -F -f "$WORK/dns2tcpd.conf" >"$WORK/dns2tcpd.log" 2>&1 &
  echo $! > "$WORK/dns2tcpd.pid"
  sleep 1
  capture_start "$f"
  ip netns exec cx-cli dns2tcpc -z "$dom" -r sink -l 4444 -T "$t" 10.53.1.1 >"$WORK/dns2tcpc.log" 2>&1 &
  echo $! > "$WORK/dns2tcpc.pid"
  sleep 1.5
  push cx-cli 127.0.0.1 4444 $seed
  capture_stop
  kill "$(cat "$WORK/dns2tcpc.pid")" "$(cat "$WORK/dns2tcpd.pid")" "$(cat "$WORK/sink-9000.pid")" 2>/dev/null || true
  sleep 1
  got=$(cat "$WORK/sink-9000.count" 2>/dev/null || echo 0); rm -f "$WORK/sink-9000.count"
  echo "dns2tcp -T $t: $(tcpdump -r "$f" 2>/dev/null | wc -l) packets, sink got $got bytes"
  echo -e "$(basename "$f")\t10.53.1.2\texfil-lab.net\tdns2tcp\t$t\t$got" >> "$OUT/truth.tsv"
  seed=$((seed+1))
done
