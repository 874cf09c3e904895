// A browser app using @openai/agents-realtime (bundled by esbuild for tests/browser/test_agents_browser.py):
// a RealtimeAgent with a `get_time` tool in a RealtimeSession on the WebSocket transport, connected with an
// `ek_` client secret its server minted — no `useInsecureApiKey`. `window.runAgent(options)` resolves with
// what happened; server events are re-checked against the SDK's own zod schemas (it silently drops the ones
// that fail them).
import { RealtimeSession } from '@openai/agents-realtime';
import { clockAgent } from './clock_agent.mjs';
// Not in the package's exports map: the SDK's own event schemas, from the file.
import { realtimeServerEventSchema } from '../../../node_modules/@openai/agents-realtime/dist/openaiRealtimeEvents.mjs';

const STALL_MS = 15_000;

function plain(value) {
  return JSON.parse(JSON.stringify(value ?? null));
}

window.runAgent = ({ url, apiKey, text }) =>
  new Promise((resolve) => {
    const log = { events: [], ignored: [], toolCalls: [], errors: [], agentEnd: [] };
    const agent = clockAgent(log);
    const session = new RealtimeSession(agent, { transport: 'websocket', config: { outputModalities: ['text'] } });
    let toolEnded = false;
    const finish = (completed, reason) => {
      clearTimeout(stall);
      const result = { completed, reason, ...log, history: plain(session.history) };
      try {
        session.close();
      } catch (error) {
        log.errors.push(String(error));
      }
      resolve(result);
    };
    const stall = setTimeout(() => finish(false, `no final answer within ${STALL_MS} ms`), STALL_MS);
    session.on('transport_event', (event) => {
      log.events.push(plain(event));
      const check = realtimeServerEventSchema.safeParse(event);
      if (!check.success) log.ignored.push({ type: event.type, issues: plain(check.error.issues) });
      if (event.type === 'response.done' && toolEnded && (event.response?.output ?? []).some((i) => i?.type === 'message')) {
        finish(true, 'final response.done');
      }
    });
    session.on('agent_tool_end', () => {
      toolEnded = true;
    });
    session.on('agent_end', (_ctx, _agent, output) => log.agentEnd.push(output));
    session.on('error', (error) => log.errors.push(String(error?.error?.message ?? error?.error ?? error)));
    session
      .connect({ apiKey, url })
      .then(() => session.sendMessage(text))
      .catch((error) => {
        log.errors.push(String(error?.message ?? error));
        finish(false, 'connect failed');
      });
  });
