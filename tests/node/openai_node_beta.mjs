// openai-node (npm `openai`, v7) beta dialect: `openai/beta/realtime/ws` (header
// `openai-beta: realtime=v1`) or `openai/beta/realtime/websocket` (sub-protocol
// `openai-beta.realtime-v1`, needs `node --experimental-websocket` on node 20) holds one text turn.
//
//   node openai_node_beta.mjs ws|native
//
// Same env, output and exit codes as openai_node_ga.mjs; the session.update is the flat beta shape.
import { drive, userText } from './openai_node_ga.mjs';

const transport = process.argv[2] ?? 'ws';
if (transport === 'native' && typeof globalThis.WebSocket !== 'function') {
  console.error('livegate-fail no global WebSocket: run node with --experimental-websocket (node 20)');
  process.exit(3);
}
const { OpenAIRealtimeWS } = await import('openai/beta/realtime/ws');
const { OpenAIRealtimeWebSocket } = await import('openai/beta/realtime/websocket');
drive(transport === 'native' ? OpenAIRealtimeWebSocket : OpenAIRealtimeWS, transport, [
  { type: 'session.update', session: { modalities: ['text'], instructions: 'Be brief.' } },
  userText(),
  { type: 'response.create' },
]);
