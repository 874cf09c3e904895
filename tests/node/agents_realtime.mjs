// @openai/agents-realtime (the OpenAI Agents JS SDK, realtime part) holds one tool-calling turn
// through livegate: a RealtimeAgent with a `get_weather({city})` function tool, a RealtimeSession on
// the `websocket` transport (Node `ws`, Authorization header) with an explicit `url`, text output.
//
//   node agents_realtime.mjs
//
// Env: LIVEGATE_URL (ws://HOST:PORT/v1/realtime?model=<alias>, used verbatim by the SDK),
// LIVEGATE_API_KEY, LIVEGATE_MODEL (travels in session.update.session.model), LIVEGATE_USER_TEXT,
// LIVEGATE_MODALITY (`text`, the default, or `audio`).
//
// The SDK validates every server event with zod and silently drops the ones that fail (they only
// reach `transport_event`), so this script re-checks each one against the SDK's own schema and
// reports the zod issues. Prints JSON lines on stdout, one object each, tagged by `kind`:
//   client_event    {event}                      every frame the SDK sent
//   transport_event {event, understood, issues}  every server event; understood=false → the SDK ignored it
//   tool_call       {args}                       the tool's execute() ran, with these parsed arguments
//   tool_start      {name, arguments}            the session announced the call (agent_tool_start)
//   tool_end        {name, result}
//   agent_end       {text}                       the session's own end-of-turn text
//   error           {message, detail}            the session's `error` events
//   history         {items}                      session.history at the end
//   summary         {completed, reason, audio_chunks}
// Exits 0 once the final message has arrived (or after the stall limit, with completed=false); a
// crash of the script itself exits non-zero.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { z } from 'zod';
import { RealtimeAgent, RealtimeSession, tool } from '@openai/agents-realtime';

const STALL_MS = 10_000;
const GRACE_MS = 300; // late history updates / stray events after the final response.done

const require = createRequire(import.meta.url);
const distDir = path.dirname(require.resolve('@openai/agents-realtime')); // …/dist/index.js
// Not in the package's exports map: load the SDK's own event schemas from the file.
const { realtimeServerEventSchema } = await import(
  pathToFileURL(path.join(distDir, 'openaiRealtimeEvents.mjs')).href
);

function out(kind, payload) {
  console.log(JSON.stringify({ kind, ...payload }));
}

// Record what the SDK sends: its Node transport uses the `ws` package's WebSocket.
const originalSend = WebSocket.prototype.send;
WebSocket.prototype.send = function send(data, ...rest) {
  try {
    out('client_event', { event: JSON.parse(data.toString()) });
  } catch {
    out('client_event', { event: null, raw: String(data).slice(0, 500) });
  }
  return originalSend.call(this, data, ...rest);
};

function describeError(err) {
  const inner = err?.error ?? err;
  let detail;
  try {
    detail = JSON.parse(JSON.stringify(inner));
  } catch {
    detail = null;
  }
  return { message: inner instanceof Error ? inner.message : String(inner?.message ?? inner), detail };
}

const getWeather = tool({
  name: 'get_weather',
  description: 'Get the current weather for a city.',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    out('tool_call', { args: { city } });
    return 'sunny';
  },
});

const agent = new RealtimeAgent({
  name: 'Weather assistant',
  instructions: 'Use get_weather to answer weather questions.',
  tools: [getWeather],
});

const modality = process.env.LIVEGATE_MODALITY ?? 'text';
const session = new RealtimeSession(agent, {
  transport: 'websocket',
  model: process.env.LIVEGATE_MODEL,
  config: { outputModalities: [modality] },
});

let toolEnded = false;
let audioChunks = 0; // the transport's `audio` events: output_audio.delta frames it understood and decoded
let finished = false;

function finish(completed, reason) {
  if (finished) {
    return;
  }
  finished = true;
  clearTimeout(stall);
  setTimeout(() => {
    out('history', { items: JSON.parse(JSON.stringify(session.history)) });
    out('summary', { completed, reason, audio_chunks: audioChunks });
    try {
      session.close();
    } catch (err) {
      out('error', { source: 'close', ...describeError(err) });
    }
    // The socket close handshake is not part of the test: leave now.
    setTimeout(() => process.exit(0), 50);
  }, GRACE_MS);
}

const stall = setTimeout(() => finish(false, `no final response within ${STALL_MS} ms`), STALL_MS);

session.on('transport_event', (event) => {
  const check = realtimeServerEventSchema.safeParse(event);
  out('transport_event', {
    event,
    understood: check.success,
    issues: check.success ? [] : check.error.issues,
  });
  if (event.type === 'response.done' && toolEnded) {
    const output = event.response?.output ?? [];
    if (output.some((item) => item?.type === 'message')) {
      finish(true, 'final response.done');
    }
  }
});
session.on('agent_tool_start', (_ctx, _agent, fn, details) => {
  out('tool_start', { name: fn.name, arguments: details?.toolCall?.arguments ?? null });
});
session.on('agent_tool_end', (_ctx, _agent, fn, result) => {
  toolEnded = true;
  out('tool_end', { name: fn.name, result });
});
session.on('audio', () => {
  audioChunks += 1;
});
session.on('agent_end', (_ctx, _agent, text) => out('agent_end', { text }));
session.on('error', (err) => out('error', { source: 'session', ...describeError(err) }));

try {
  await session.connect({ apiKey: process.env.LIVEGATE_API_KEY, url: process.env.LIVEGATE_URL });
} catch (err) {
  out('error', { source: 'connect', ...describeError(err) });
  finish(false, 'connect failed');
}
if (!finished) {
  session.sendMessage(process.env.LIVEGATE_USER_TEXT ?? 'Please use get_weather for Paris.');
}
