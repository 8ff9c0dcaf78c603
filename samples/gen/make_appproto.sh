#!/usr/bin/env bash
# Application-protocol samples (issue 12): stomp.pcap, mqtt.pcap, mqtt5.pcap, phoenix.pcap,
# actioncable.pcap and their manifests samples/NAME.sent.json. Run as root; loopback only.
# Needs:
#   - RabbitMQ with the Web-STOMP plugin listening on 15674 (Debian 12:
#     apt-get install -y rabbitmq-server; rabbitmq-plugins enable --offline rabbitmq_web_stomp;
#     RABBITMQ_NODENAME=rabbit@localhost rabbitmq-server &)
#   - mosquitto (apt-get install -y mosquitto; started by mqtt_sample.py itself)
#   - pip: paho-mqtt websockets
#   - npm, into $NODEAPP (outside the repo): @stomp/stompjs ws phoenix @rails/actioncable
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
cd "$GEN"

NODEAPP="${NODEAPP:-/tmp/node_appproto}"
if [ ! -d "$NODEAPP/node_modules/@stomp/stompjs" ]; then
  mkdir -p "$NODEAPP"
  (cd "$NODEAPP" && npm init -y >/dev/null && npm install --no-audit --no-fund @stomp/stompjs@7 ws@8 phoenix@1.8 @rails/actioncable@8 >/dev/null)
fi
export NODE_PATH="$NODEAPP/node_modules"

if ! (exec 3<>/dev/tcp/127.0.0.1/15674) 2>/dev/null; then
  echo "RabbitMQ Web-STOMP is not listening on 127.0.0.1:15674 (see the top of this script)" >&2
  exit 1
fi

capture() {
  local out="$1" filter="$2"; shift 2
  local err; err="$(mktemp)"
  rm -f "$out"
  timeout 90 tcpdump --immediate-mode -i lo -U -w "$out" "$filter" 2>"$err" &
  local pid=$!
  for _ in $(seq 50); do grep -q "listening on" "$err" && break; sleep 0.1; done
  sleep 0.3
  timeout 60 "$@"
  sleep 0.5
  kill -INT "$pid"; wait "$pid" || true
  grep -h "packets captured" "$err" | sed "s|^|$(basename "$out"): |"
  rm -f "$err"
}

capture "$SAMPLES/stomp.pcap"       "tcp port 15674" node stomp_sample.js 15674
# Both legs of the bridge: WebSocket on N, the broker's TCP on N+1000 (tshark's MQTT oracle).
capture "$SAMPLES/mqtt.pcap"        "tcp port 9301 or tcp port 10301"  python3 mqtt_sample.py 9301 v311
capture "$SAMPLES/mqtt5.pcap"       "tcp port 9302 or tcp port 10302"  python3 mqtt_sample.py 9302 v5
capture "$SAMPLES/phoenix.pcap"     "tcp port 9151"  python3 channels_server.py phoenix 9151
capture "$SAMPLES/actioncable.pcap" "tcp port 9152"  python3 channels_server.py actioncable 9152

# tshark's reading of the MQTT packets on the broker's TCP leg (the same bytes the WebSocket
# messages carried), for tests/appproto.rs.
python3 tshark_mqtt.py mqtt 10301
python3 tshark_mqtt.py mqtt5 10302
