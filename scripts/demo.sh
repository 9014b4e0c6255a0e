#!/usr/bin/env bash
# The README demo (run it through `./x demo`): start a collector on localhost
# with a fresh CA, enroll a sensor, replay every bundled capture through the
# whole sensor pipeline with forwarding into that collector, and print what the
# collector received: events by type, alerts, sensor health.
#
# Everything lives under out/demo/ (recreated on each run); only 127.0.0.1 is used.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
D="$ROOT/out/demo"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "building centinela and centinela-collector (release)"
cargo build --release --locked -q -p centinela -p centinela-collector
BIN="$ROOT/target/release"
[[ -n "${CARGO_TARGET_DIR:-}" ]] && BIN="$CARGO_TARGET_DIR/release"

rm -rf "$D"
mkdir -p "$D"

# A free port on loopback.
PORT=""
for p in $(seq 18443 18543); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
done
[[ -n $PORT ]] || { echo "error: no free port in 18443-18543 on 127.0.0.1" >&2; exit 1; }
URL="https://127.0.0.1:$PORT"

say "collector: new CA, server certificate and admin credentials in out/demo/csirt"
"$BIN/centinela-collector" init --dir "$D/csirt" --listen "127.0.0.1:$PORT" >/dev/null
say "collector: enrolling sensor 'demo-substation' (client certificate + sensor config)"
"$BIN/centinela-collector" enroll demo-substation --dir "$D/csirt" --url "$URL" --spool "$D/spool" >"$D/centinela.toml"

"$BIN/centinela-collector" serve --config "$D/csirt/collector.toml" >"$D/collector.log" 2>&1 &
CPID=$!
trap 'kill $CPID 2>/dev/null || true; wait $CPID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$D/collector.log" 2>/dev/null && break
  kill -0 $CPID 2>/dev/null || { cat "$D/collector.log" >&2; exit 1; }
  sleep 0.1
done
say "collector listening on $URL"

# pcaps/big holds the never-committed benchmark captures (gitignored), not bundled ones.
mapfile -t PCAPS < <(find pcaps \( -path pcaps/gen -o -path pcaps/big \) -prune -o \( -name '*.pcap' -o -name '*.pcapng' \) -print | LC_ALL=C sort)
say "sensor: replaying ${#PCAPS[@]} bundled captures with forwarding (EVE copy in out/demo/eve.json)"
"$BIN/centinela" replay --quiet --config "$D/centinela.toml" --eve "$D/eve.json" "${PCAPS[@]}"

A=(--silent --show-error --fail --cacert "$D/csirt/ca.pem" --cert "$D/csirt/sensors/admin.pem" --key "$D/csirt/sensors/admin.key")
# Wait until the collector has every record the sensor wrote (the sensor drains its spool on exit).
want=$(wc -l <"$D/eve.json")
for _ in $(seq 1 100); do
  got=$(curl "${A[@]}" "$URL/api/v1/summary" | jq '[.events_by_type | to_entries[] | select(.key != "heartbeat" and .key != "sensor_silent") | .value] | add // 0')
  [[ $got -ge $want ]] && break
  sleep 0.2
done

SUMMARY=$(curl "${A[@]}" "$URL/api/v1/summary")
echo
echo "Centinela demo — what the CSIRT collector received from sensor 'demo-substation'"
echo "(${#PCAPS[@]} captures replayed, $want EVE records written by the sensor, $got stored by the collector)"
echo
echo "Events by type:"
jq -r '.events_by_type | to_entries[] | "  \(.key)\t\(.value)"' <<<"$SUMMARY" | column -t -s $'\t'
echo
echo "Alerts (by signature):"
jq -r '.alerts_by_signature[] | "  sev \(.severity)\t\(.signature_id)\t\(.count) records\t\(.signature)"' <<<"$SUMMARY" | column -t -s $'\t'
echo
echo "Alert episodes (one line per client, domain and signature; an open episode is re-sent with updated figures):"
curl "${A[@]}" "$URL/api/v1/events?event_type=alert&limit=10000" |
  jq -r '[.events[].event | {sig: .alert.signature, src: .src_ip, dom: (.alert.explanation.domain // "-"),
           bytes: (.alert.explanation.estimated_bytes_exfiltrated // 0), q: (.alert.explanation.query_count // 0), ts: .timestamp}]
         | group_by([.sig, .src, .dom]) | .[] | max_by(.ts)
         | "  \(.src)\t\(.dom)\t~\(.bytes) B in \(.q) queries\t\(.sig)"' | column -t -s $'\t'
echo
echo "Top anomalies:"
jq -r 'select(.event_type=="anomaly") | .anomaly.event' "$D/eve.json" | sort | uniq -c | sort -rn | head -15 | sed 's/^/  /'
echo
echo "Sensors:"
curl "${A[@]}" "$URL/api/v1/sensors" |
  jq -r '(.sensors // .)[] | "  \(.sensor)\tstatus=\(.status)\tversion=\(.version // "-")\tspool_depth=\(.spool_depth // 0)\tpackets=\(.packets // 0)"' | column -t -s $'\t'
echo
echo "Files: out/demo/eve.json (sensor EVE), out/demo/collector.log, out/demo/csirt/ (CA, collector DB)"
