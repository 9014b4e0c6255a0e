#!/usr/bin/env bash
# Regenerates the real-third-party-stack captures under pcaps/:
#   modbus-pymodbus-{polling,writes,diagnostics}  (pymodbus client <-> pymodbus server, TCP 502)
#   dnp3-opendnp3-polling                         (opendnp3 master <-> outstation via dnp3-python, TCP 20000)
# Needs root (tcpdump on lo, bind to port 502), python3 with venv, tcpdump; installs
# its Python packages (pinned in requirements.txt) into pcaps/realstack/.venv.
# Timestamps, ports and TCP sequence numbers differ on every run, so these captures
# are NOT part of the generator's byte-identity check.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pcaps=$(dirname "$here")
venv=${VENV:-$here/.venv}

for tool in tcpdump python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y tcpdump python3-venv" >&2; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then
    echo "capture.sh needs root (tcpdump on lo and port 502)" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# dnp3-python only exists as a pre-release wheel, hence --pre (the == pin selects it).
"$venv/bin/pip" install -q --pre -r "$here/requirements.txt"
py="$venv/bin/python"

wait_port() {
    for _ in $(seq 1 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}

# capture NAME BPF-FILTER COMMAND...: runs COMMAND while tcpdump records lo.
capture() {
    local name=$1 filter=$2
    shift 2
    local dir="$pcaps/$name"
    mkdir -p "$dir"
    tcpdump -i lo -U -s 0 -w "$dir/capture.pcap.tmp" "$filter" 2>/dev/null &
    local td=$!
    sleep 1
    "$@" >"$dir/.run.log" 2>&1 || { cat "$dir/.run.log" >&2; kill -INT "$td"; return 1; }
    sleep 1
    kill -INT "$td"
    wait "$td" || true
    mv "$dir/capture.pcap.tmp" "$dir/capture.pcap"
    rm -f "$dir/.run.log"
    echo "$name: $(tcpdump -r "$dir/capture.pcap" 2>/dev/null | wc -l) packets"
}

"$py" "$here/modbus_stack.py" server 502 >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
wait_port 502
for scenario in polling writes diagnostics; do
    capture "modbus-pymodbus-$scenario" "tcp port 502" "$py" "$here/modbus_stack.py" client 502 "$scenario"
done
kill "$server"
wait "$server" 2>/dev/null || true
trap - EXIT

capture dnp3-opendnp3-polling "tcp port 20000" "$py" "$here/dnp3_stack.py" 12
