// signalr.pcap's client: the official @microsoft/signalr client (and
// @microsoft/signalr-protocol-msgpack for the second connection) against
// signalr_sample.py's hub on 127.0.0.1:PORT/hub.
// Per connection (JSON first, then MessagePack), one at a time:
//   invoke Add(40, 2)                      -> 42
//   invoke Echo({"text": "hi", "n": [1, 2]}) -> the same object
//   invoke Fail()                          -> error completion "boom"
//   stream Counter(3)                      -> items 0, 1, 2 then completion
//   send Notify("fire-and-forget")         (no invocation id, no answer)
//   waits for the server's ReceiveMessage("server", "hello") and for a keep-alive ping
//   stop()
// Prints one JSON line: what the application called and what it got back.
// Usage: NODE_PATH=... node signalr_client.js PORT
const signalR = require("@microsoft/signalr");
const { MessagePackHubProtocol } = require("@microsoft/signalr-protocol-msgpack");

const port = Number(process.argv[2] || 9151);
const log = [];

async function session(protocolName) {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(`http://127.0.0.1:${port}/hub`, { transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.Warning)
    .withKeepAliveInterval(300);
  if (protocolName === "messagepack") {
    builder = builder.withHubProtocol(new MessagePackHubProtocol());
  }
  const conn = builder.build();
  const received = new Promise((resolve) => {
    conn.on("ReceiveMessage", (who, text) => {
      log.push({ protocol: protocolName, call: "on", target: "ReceiveMessage", arguments: [who, text] });
      resolve();
    });
  });
  await conn.start();
  const calls = [["Add", [40, 2]], ["Echo", [{ text: "hi", n: [1, 2] }]], ["Fail", []]];
  for (const [target, args] of calls) {
    try {
      const result = await conn.invoke(target, ...args);
      log.push({ protocol: protocolName, call: "invoke", target, arguments: args, result });
    } catch (e) {
      log.push({ protocol: protocolName, call: "invoke", target, arguments: args, error: e.message });
    }
  }
  const items = [];
  await new Promise((resolve, reject) => {
    conn.stream("Counter", 3).subscribe({
      next: (i) => items.push(i),
      complete: resolve,
      error: reject,
    });
  });
  log.push({ protocol: protocolName, call: "stream", target: "Counter", arguments: [3], items });
  await conn.send("Notify", "fire-and-forget");
  log.push({ protocol: protocolName, call: "send", target: "Notify", arguments: ["fire-and-forget"] });
  await received;
  // Long enough for the 300 ms keep-alive ping.
  await new Promise((r) => setTimeout(r, 700));
  await conn.stop();
}

(async () => {
  await session("json");
  await session("messagepack");
  console.log(JSON.stringify(log));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
