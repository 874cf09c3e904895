// openai-node (npm `openai`, v7) holds one GA text turn through livegate.
//
//   node openai_node_ga.mjs ws       # OpenAIRealtimeWS (Node `ws`, Authorization header)
//   node --experimental-websocket openai_node_ga.mjs native
//                                    # OpenAIRealtimeWebSocket (global WebSocket, key in sub-protocols)
//
// Env: LIVEGATE_BASE_URL (https://localhost:PORT/v1 — the SDK forces wss:// and appends
// /realtime?model=), LIVEGATE_API_KEY, LIVEGATE_MODEL, LIVEGATE_USER_TEXT; trust the test CA with
// NODE_EXTRA_CA_CERTS. Prints every server event as one JSON line on stdout until `response.done`,
// closes with 1000 and exits 0 once the close completes. On the last stderr line:
// `livegate-meta {"url", "protocol", "close_code"}`. Any SDK error or a 10 s stall exits non-zero.
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';

const STALL_MS = 10_000;

/** Opens `Client`, sends `messages` once the socket is open, prints events until response.done. */
export function drive(Client, transport, messages) {
  const client = new OpenAI({ apiKey: process.env.LIVEGATE_API_KEY, baseURL: process.env.LIVEGATE_BASE_URL });
  const rt = new Client({ model: process.env.LIVEGATE_MODEL }, client);
  const meta = { url: rt.url.toString(), protocol: null, close_code: null };
  const stall = setTimeout(() => fail(`no response.done within ${STALL_MS} ms`), STALL_MS);

  function fail(message) {
    console.error(`livegate-fail ${message}`);
    console.error(`livegate-meta ${JSON.stringify(meta)}`);
    process.exit(2);
  }

  rt.on('error', (err) => fail(`SDK error: ${err.message}`));
  rt.on('event', (event) => {
    console.log(JSON.stringify(event));
    if (event.type === 'response.done') {
      rt.close();
    }
  });

  const onOpen = () => {
    meta.protocol = rt.socket.protocol || null;
    for (const message of messages) {
      rt.send(message);
    }
  };
  const onClose = (code) => {
    clearTimeout(stall);
    meta.close_code = code;
    console.error(`livegate-meta ${JSON.stringify(meta)}`);
    process.exitCode = 0;
  };
  if (transport === 'native') {
    rt.socket.addEventListener('open', onOpen);
    rt.socket.addEventListener('close', (event) => onClose(event.code));
  } else {
    rt.socket.on('open', onOpen);
    rt.socket.on('close', (code) => onClose(code));
  }
}

export function userText() {
  const text = process.env.LIVEGATE_USER_TEXT ?? 'What is the capital of France?';
  return {
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
  };
}

async function main() {
  const transport = process.argv[2] ?? 'ws';
  if (transport === 'native' && typeof globalThis.WebSocket !== 'function') {
    console.error('livegate-fail no global WebSocket: run node with --experimental-websocket (node 20)');
    process.exit(3);
  }
  const { OpenAIRealtimeWS } = await import('openai/realtime/ws');
  const { OpenAIRealtimeWebSocket } = await import('openai/realtime/websocket');
  drive(transport === 'native' ? OpenAIRealtimeWebSocket : OpenAIRealtimeWS, transport, [
    { type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } },
    userText(),
    { type: 'response.create' },
  ]);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
