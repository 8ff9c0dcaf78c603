#!/usr/bin/env python3
"""mqtt.pcap / mqtt5.pcap: paho-mqtt over WebSockets (ws://127.0.0.1:PORT/mqtt, subprotocol
`mqtt`) against Mosquitto (Debian 12's mosquitto 2.0.11, started here on TCP port PORT+1000;
anonymous, no persistence). Debian's mosquitto build cannot open a websockets listener
("Unable to start any listening sockets"), so the WebSocket side is a small bridge written
here with the `websockets` library (like a reverse proxy in front of a broker): it accepts
subprotocol `mqtt`, writes each WebSocket message's bytes to the broker's TCP connection and
sends each TCP read from the broker as one binary message, so the broker's packets arrive
joined or split as TCP delivered them.

`v311` (mqtt.pcap), one MQTT 3.1.1 session, client id "wsd-311", keep alive 2 s, a will
("wsd/will", "gone", QoS 1):
  subscribe wsd/a QoS 1 and wsd/b QoS 2 (one SUBSCRIBE), publish "qos0" to wsd/a QoS 0,
  "qos1" to wsd/a QoS 1, "qos2" to wsd/b QoS 2 (each delivered back by the broker), "kept" to
  wsd/r QoS 1 retained, 100 000 bytes to wsd/big QoS 1 (no subscriber), unsubscribe wsd/a,
  wait 3 s (PINGREQ/PINGRESP), disconnect.
`v5` (mqtt5.pcap), one MQTT 5 session, client id "wsd-v5", session expiry 30 s:
  publish "kept5" to wsd/r QoS 0 retained, subscribe wsd/v5/# QoS 1 (no local off) and
  wsd/r QoS 0 (the broker sends the retained "kept5", retain flag set), publish "props" to
  wsd/v5/x QoS 1 with content type, response
  topic, correlation data, message expiry and a user property (delivered back), publish
  "two" to wsd/v5/y QoS 2, disconnect with reason code 0.
The manifest samples/NAME.sent.json lists every publish/subscribe the application made with
the packet id paho gave it, and the messages it received.
Usage: python3 mqtt_sample.py PORT v311|v5
"""
import asyncio
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9301
MODE = sys.argv[2] if len(sys.argv) > 2 else "v311"
HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.normpath(os.path.join(HERE, ".."))
NAME = "mqtt" if MODE == "v311" else "mqtt5"

sent = []
received = []
acked = threading.Condition()
done_mids = set()
got = []


def start_broker():
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write(f"listener {PORT + 1000} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    conf.close()
    p = subprocess.Popen(["mosquitto", "-c", conf.name], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p, conf.name


def start_bridge():
    """WebSocket (subprotocol mqtt) on PORT <-> the broker's TCP port, in a thread."""
    from websockets.asyncio.server import serve

    async def handler(ws):
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT + 1000)

        async def up():
            async for m in ws:
                writer.write(m if isinstance(m, bytes) else m.encode())
                await writer.drain()
            writer.close()

        async def down():
            while data := await reader.read(65536):
                await ws.send(data)
            await ws.close()

        await asyncio.gather(up(), down(), return_exceptions=True)

    ready = threading.Event()
    stop = {}

    def run():
        async def amain():
            loop = asyncio.get_running_loop()
            stop["fut"] = loop.create_future()
            stop["loop"] = loop
            async with serve(handler, "127.0.0.1", PORT, subprotocols=["mqtt"],
                             compression=None):
                ready.set()
                await stop["fut"]
        asyncio.run(amain())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait(5)

    def close():
        stop["loop"].call_soon_threadsafe(stop["fut"].set_result, None)
        t.join(5)
    return close


def wait_mid(mid, timeout=5):
    with acked:
        acked.wait_for(lambda: mid in done_mids, timeout)
    assert mid in done_mids, f"mid {mid} not acknowledged"


def wait_msgs(n, timeout=5):
    with acked:
        acked.wait_for(lambda: len(got) >= n, timeout)


def on_publish(client, userdata, mid, rc=None, props=None):
    with acked:
        done_mids.add(mid)
        acked.notify_all()


def on_subscribe(client, userdata, mid, reason_codes, props=None):
    with acked:
        done_mids.add(mid)
        sent_sub = [s for s in sent if s.get("mid") == mid]
        if sent_sub:
            sent_sub[0]["granted"] = [rc.value for rc in reason_codes]
        acked.notify_all()


def on_unsubscribe(client, userdata, mid, reason_codes, props=None):
    on_publish(client, userdata, mid)


def on_message(client, userdata, msg):
    props = {}
    if msg.properties is not None:
        p = msg.properties
        for name in ("ContentType", "ResponseTopic", "MessageExpiryInterval"):
            if hasattr(p, name):
                props[name] = getattr(p, name)
        if hasattr(p, "CorrelationData"):
            props["CorrelationData"] = p.CorrelationData.hex()
        if hasattr(p, "UserProperty"):
            props["UserProperty"] = [list(kv) for kv in p.UserProperty]
    with acked:
        got.append(msg)
        received.append({"topic": msg.topic, "qos": msg.qos, "retain": bool(msg.retain),
                         "mid": msg.mid, "payload": msg.payload.decode(), "properties": props})
        acked.notify_all()


def publish(c, topic, payload, qos, retain=False, properties=None, record=None):
    info = c.publish(topic, payload, qos=qos, retain=retain, properties=properties)
    e = {"op": "publish", "topic": topic, "qos": qos, "retain": retain,
         "payload_len": len(payload)}
    if len(payload) <= 64:
        e["payload"] = payload.decode() if isinstance(payload, bytes) else payload
    if qos > 0:
        e["mid"] = info.mid
    if record:
        e.update(record)
    sent.append(e)
    if qos > 0:
        wait_mid(info.mid)
    else:
        info.wait_for_publish(5)
    return info


def main():
    broker, conf = start_broker()
    close_bridge = start_bridge()
    try:
        v5 = MODE == "v5"
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                        client_id="wsd-v5" if v5 else "wsd-311",
                        transport="websockets",
                        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
        c.ws_set_options(path="/mqtt")
        c.on_publish = on_publish
        c.on_subscribe = on_subscribe
        c.on_unsubscribe = on_unsubscribe
        c.on_message = on_message
        connected = threading.Event()
        c.on_connect = lambda *a: connected.set()
        if v5:
            cp = Properties(PacketTypes.CONNECT)
            cp.SessionExpiryInterval = 30
            c.connect("127.0.0.1", PORT, keepalive=60, clean_start=True, properties=cp)
        else:
            c.will_set("wsd/will", "gone", qos=1)
            c.connect("127.0.0.1", PORT, keepalive=2)
        c.loop_start()
        assert connected.wait(5)
        conn = {"op": "connect", "client_id": "wsd-v5" if v5 else "wsd-311",
                "protocol_level": 5 if v5 else 4, "keepalive": 60 if v5 else 2}
        if v5:
            conn["properties"] = {"SessionExpiryInterval": 30}
        else:
            conn["will"] = {"topic": "wsd/will", "payload": "gone", "qos": 1}
        sent.append(conn)

        if not v5:
            rc, mid = c.subscribe([("wsd/a", 1), ("wsd/b", 2)])
            sent.append({"op": "subscribe", "topics": [["wsd/a", 1], ["wsd/b", 2]], "mid": mid})
            wait_mid(mid)
            publish(c, "wsd/a", b"qos0", 0)
            wait_msgs(1)
            publish(c, "wsd/a", b"qos1", 1)
            wait_msgs(2)
            publish(c, "wsd/b", b"qos2", 2)
            wait_msgs(3)
            time.sleep(0.1)
            publish(c, "wsd/r", b"kept", 1, retain=True)
            publish(c, "wsd/big", b"B" * 100_000, 1)
            rc, mid = c.unsubscribe(["wsd/a"])
            sent.append({"op": "unsubscribe", "topics": ["wsd/a"], "mid": mid})
            wait_mid(mid)
            time.sleep(3)  # keep alive 2 s: paho pings
        else:
            publish(c, "wsd/r", b"kept5", 0, retain=True)
            so = SubscribeOptions(qos=1, noLocal=False)
            rc, mid = c.subscribe([("wsd/v5/#", so), ("wsd/r", SubscribeOptions(qos=0))])
            sent.append({"op": "subscribe", "topics": [["wsd/v5/#", 1], ["wsd/r", 0]],
                         "mid": mid})
            wait_mid(mid)
            wait_msgs(1)
            pp = Properties(PacketTypes.PUBLISH)
            pp.ContentType = "text/plain"
            pp.ResponseTopic = "wsd/v5/reply"
            pp.CorrelationData = b"\x01\x02"
            pp.MessageExpiryInterval = 60
            pp.UserProperty = [("k", "v")]
            publish(c, "wsd/v5/x", b"props", 1, properties=pp,
                    record={"properties": {"ContentType": "text/plain",
                                           "ResponseTopic": "wsd/v5/reply",
                                           "CorrelationData": "0102",
                                           "MessageExpiryInterval": 60,
                                           "UserProperty": [["k", "v"]]}})
            wait_msgs(2)
            publish(c, "wsd/v5/y", b"two", 2)
            wait_msgs(3)
            time.sleep(0.1)
        c.disconnect()
        sent.append({"op": "disconnect"})
        time.sleep(0.3)
        c.loop_stop()
    finally:
        close_bridge()
        broker.terminate()
        broker.wait()
        os.unlink(conf)

    ver = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout.split("\n")[0]
    manifest = {
        "sample": f"{NAME}.pcap",
        "libraries": {"paho-mqtt": importlib.metadata.version("paho-mqtt")},
        "broker": ver.strip(),
        "websocket_side": "bridge in this script (websockets "
                          + importlib.metadata.version("websockets") + ")",
        "url": f"ws://127.0.0.1:{PORT}/mqtt",
        "protocol": MODE,
        "sent": sent,
        "received": received,
        "note": "operations in order; mid = the packet identifier paho gave the PUBLISH/"
                "SUBSCRIBE/UNSUBSCRIBE; received = messages delivered to the client",
    }
    with open(os.path.join(SAMPLES, f"{NAME}.sent.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


main()
