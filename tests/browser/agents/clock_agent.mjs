// The agent both browser apps run (entry.mjs on the WebSocket, webrtc_entry.mjs over WebRTC): a RealtimeAgent
// with a `get_time` tool whose calls are noted in `log.toolCalls`.
import { RealtimeAgent, tool } from '@openai/agents-realtime';
import { z } from 'zod';

export function clockAgent(log) {
  const getTime = tool({
    name: 'get_time',
    description: 'The current time.',
    parameters: z.object({}),
    execute: async () => {
      log.toolCalls.push('get_time');
      return 'It is 12:34.';
    },
  });
  return new RealtimeAgent({ name: 'Clock', instructions: 'Use get_time for the time.', tools: [getTime] });
}
