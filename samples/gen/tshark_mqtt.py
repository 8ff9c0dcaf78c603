#!/usr/bin/env python3
"""tshark's reading of the MQTT packets on the broker's TCP leg of mqtt.pcap / mqtt5.pcap (the
bytes the WebSocket bridge forwarded), one JSON object per MQTT packet, in capture order, to
samples/expected/NAME.tshark-mqtt.jsonl: dir (c2s = to the broker), msgtype, dupflag, qos,
retain, len (remaining length), topics, msgid, clientid, ver, kalive, codes (CONNACK return /
reason code, SUBACK codes, PUBACK... reason code), property_ids, content_type.
Usage: python3 tshark_mqtt.py NAME BROKER_PORT"""
import json
import os
import subprocess
import sys

name, port = sys.argv[1], sys.argv[2]
S = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
raw = subprocess.run(
    ["tshark", "-r", os.path.join(S, f"{name}.pcap"), "-d", f"tcp.port=={port},mqtt",
     "-Y", f"mqtt and tcp.port=={port}", "-T", "json", "--no-duplicate-keys", "-J", "tcp mqtt"],
    capture_output=True, text=True, check=True).stdout


def listed(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


out = []
for frame in json.loads(raw):
    layers = frame["_source"]["layers"]
    d = "c2s" if layers["tcp"]["tcp.dstport"] == port else "s2c"
    for m in listed(layers["mqtt"]):
        h = m["mqtt.hdrflags_tree"]
        rec = {"dir": d, "msgtype": int(h["mqtt.msgtype"]), "len": int(m["mqtt.len"])}
        if "mqtt.qos" in h:
            rec.update(qos=int(h["mqtt.qos"]), retain=h["mqtt.retain"] == "1",
                       dupflag=h["mqtt.dupflag"] == "1")
        for k, key in (("topics", "mqtt.topic"),):
            if key in m:
                rec[k] = listed(m[key])
        for k in ("msgid", "ver", "kalive"):
            if f"mqtt.{k}" in m:
                rec[k] = int(m[f"mqtt.{k}"])
        if "mqtt.clientid" in m:
            rec["clientid"] = m["mqtt.clientid"]
        codes = []
        for key, v in m.items():
            if key.endswith(".reason_code") or key in ("mqtt.conack.val", "mqtt.suback.qos"):
                codes += [int(x) for x in listed(v)]
        if codes:
            rec["codes"] = codes
        props = m.get("mqtt.properties")
        if isinstance(props, dict) and "mqtt.property_id" in props:
            rec["property_ids"] = [int(x, 16) for x in listed(props["mqtt.property_id"])]
            if "mqtt.property.content_type" in props:
                rec["content_type"] = props["mqtt.property.content_type"]
        out.append(rec)

with open(os.path.join(S, "expected", f"{name}.tshark-mqtt.jsonl"), "w") as f:
    for rec in out:
        f.write(json.dumps(rec) + "\n")
print(f"{name}: {len(out)} MQTT packets")
