// openai-node mints an ephemeral client secret from livegate (`client.realtime.clientSecrets.create`), then
// holds a GA text turn with it over OpenAIRealtimeWebSocket (global WebSocket, the secret in the sub-protocol
// `openai-insecure-api-key.<ek_…>`, as in a browser).
//
//   node --experimental-websocket client_secret.mjs
//
// Env as openai_node_ga.mjs (LIVEGATE_API_KEY is the long-lived key that mints). The first stdout line is
// `livegate-secret <the create() response as JSON>`; then the turn's server events, one JSON line each.
import OpenAI from 'openai';
import { drive, userText } from './openai_node_ga.mjs';

const client = new OpenAI({ apiKey: process.env.LIVEGATE_API_KEY, baseURL: process.env.LIVEGATE_BASE_URL });
const secret = await client.realtime.clientSecrets.create({
  expires_after: { anchor: 'created_at', seconds: 120 },
  session: {
    type: 'realtime',
    model: process.env.LIVEGATE_MODEL,
    instructions: 'Answer briefly.',
    output_modalities: ['text'],
  },
});
console.log(`livegate-secret ${JSON.stringify(secret)}`);
process.env.LIVEGATE_API_KEY = secret.value;
const { OpenAIRealtimeWebSocket } = await import('openai/realtime/websocket');
drive(OpenAIRealtimeWebSocket, 'native', [userText(), { type: 'response.create' }]);
