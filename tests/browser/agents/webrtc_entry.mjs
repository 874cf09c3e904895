// A browser app using @openai/agents-realtime's default transport in a browser, WebRTC (OpenAIRealtimeWebRTC),
// bundled by esbuild for tests/browser/test_webrtc_browser.py: a RealtimeAgent with a `get_time` tool, the
// microphone from getUserMedia (Chromium's fake device plays a WAV), the reply on the call's audio track.
// `window.runCall(options)` resolves with what happened: a spoken turn first, then a typed turn that calls
// the tool. Server events are re-checked against the SDK's own zod schemas (it silently drops failures).
import { OpenAIRealtimeWebRTC, RealtimeSession } from '@openai/agents-realtime';
import { clockAgent } from './clock_agent.mjs';
// Not in the package's exports map: the SDK's own event schemas, from the file.
import { realtimeServerEventSchema } from '../../../node_modules/@openai/agents-realtime/dist/openaiRealtimeEvents.mjs';

const STALL_MS = 30_000;

function plain(value) {
  return JSON.parse(JSON.stringify(value ?? null));
}

// The reply track through WebAudio (headless Chromium has no speaker): how many 20 ms polls heard a voice.
function listen(peerConnection, log) {
  const receiver = peerConnection.getReceivers().find((r) => r.track?.kind === 'audio');
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(new MediaStream([receiver.track])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    if (rms > 0.02) log.voicedPolls += 1;
  }, 20);
}

function hasMessage(event) {
  return (event.response?.output ?? []).some((item) => item?.type === 'message');
}

window.runCall = ({ url, apiKey, insecure, text }) =>
  new Promise((resolve) => {
    const log = { events: [], ignored: [], toolCalls: [], errors: [], voicedPolls: 0, phase: 'voice' };
    const agent = clockAgent(log);
    // The default transport in a browser is WebRTC; `insecure` (a long-lived key) needs it spelled out.
    const transport = insecure ? new OpenAIRealtimeWebRTC({ useInsecureApiKey: true }) : undefined;
    const session = new RealtimeSession(agent, transport ? { transport } : {});
    let toolEnded = false;
    const finish = (completed, reason) => {
      clearTimeout(stall);
      const result = { completed, reason, ...log, history: plain(session.history), callId: session.transport.callId };
      try {
        session.close();
      } catch (error) {
        log.errors.push(String(error));
      }
      resolve(result);
    };
    const stall = setTimeout(() => finish(false, `stalled in the ${log.phase} phase`), STALL_MS);
    session.on('transport_event', (event) => {
      log.events.push(plain(event));
      const check = realtimeServerEventSchema.safeParse(event);
      if (!check.success) log.ignored.push({ type: event.type, issues: plain(check.error.issues) });
      if (log.phase === 'voice' && event.type === 'output_audio_buffer.stopped') {
        log.phase = 'tool';  // the spoken turn's reply has played out: now the typed turn with the tool
        session.sendMessage(text);
      } else if (log.phase === 'tool' && event.type === 'response.done' && toolEnded && hasMessage(event)) {
        finish(true, 'final response.done');
      }
    });
    session.on('agent_tool_end', () => {
      toolEnded = true;
    });
    session.on('error', (error) => log.errors.push(String(error?.error?.message ?? error?.error ?? error)));
    session
      .connect({ apiKey, url })
      .then(() => listen(session.transport.connectionState.peerConnection, log))
      .catch((error) => {
      log.errors.push(String(error?.message ?? error));
      finish(false, 'connect failed');
    });
  });
