// livegate console: talk to a model through the gateway from a browser, the way an OpenAI Realtime web app
// does. The operator's key (asked once, kept in this module's memory only) mints a short-lived `ek_` client
// secret at /v1/realtime/client_secrets; the WebSocket carries only that secret. Microphone audio goes out as
// pcm16 24 kHz (AudioWorklet), replies play gap-free and stop at once on barge-in, with
// conversation.item.truncate sent for what was heard. A demo tool (`get_time`) shows function calling.

const RATE = 24000;
const INSTRUCTIONS =
  'You are a friendly voice assistant in the livegate console. Keep answers short. ' +
  'When the user asks for the time or date, call get_time.';
const TIME_TOOL = {
  type: 'function',
  name: 'get_time',
  description: "The current date and time, in the user's time zone unless another is named.",
  parameters: {
    type: 'object',
    properties: { timezone: { type: 'string', description: 'IANA time zone, e.g. Europe/Paris' } },
  },
};

const $ = (id) => document.getElementById(id);
let operatorKey = null; // the long-lived key, in memory only: never stored, never on a WebSocket
let options = { aliases: [], voices: [], key_required: true };

// What the page did, for people (the stats line) and for tests (window.livegateConsole).
const stats = {
  connected: false,
  sessionId: null,
  events: [], // server event types, in order
  sent: [], // client event types, in order
  turns: [], // {ttfaMs} per answered turn
  truncates: [], // {item_id, audio_end_ms} sent on barge-in
  toolCalls: [], // {name, arguments, output}
  playedMs: 0,
  queuedMs: 0,
  tokensIn: 0,
  tokensOut: 0,
  costUsd: 0,
  errors: [],
};
window.livegateConsole = stats;

let ws = null;
let audio = null; // {ctx, player, capture, stream}
let turnStartedAt = null; // when the user's turn ended (speech stopped, or text sent): time to first audio
let lastVoicedAt = null; // when the microphone last carried voice (the user's own end of speech)
let speechStartMs = 0; // audio_start_ms of the speech in progress
const VOICED = 0.01 * 0x8000; // RMS above this (-40 dBFS) counts as voice for the time-to-first-audio clock
let bubbles = new Map(); // item id → element
let pendingCalls = []; // function calls of the response in flight, answered at its response.done
let responding = false; // a response is in flight: a typed turn cancels it first

// ---- the page ---------------------------------------------------------------------------------------------

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

function bubble(id, role, label) {
  let element = id ? bubbles.get(id) : null;
  if (!element) {
    element = document.createElement('div');
    element.className = `turn ${role}`;
    element.innerHTML = '<span class="who"></span><span class="text"></span><span class="meta"></span>';
    element.querySelector('.who').textContent = label;
    $('transcript').append(element);
    if (id) bubbles.set(id, element);
  }
  return element;
}

function write(element, text, append = true) {
  const span = element.querySelector('.text');
  span.textContent = append ? span.textContent + text : text;
  $('transcript').scrollTop = $('transcript').scrollHeight;
}

function note(element, text) {
  element.querySelector('.meta').textContent = text;
}

function showStats() {
  $('stat-turns').textContent = String(stats.turns.length);
  const last = stats.turns.at(-1);
  $('stat-ttfa').textContent = last ? `${Math.round(last.ttfaMs)} ms` : '–';
  $('stat-tokens').textContent = `${stats.tokensIn} / ${stats.tokensOut}`;
  $('stat-cost').textContent = `$${stats.costUsd.toFixed(4)}`;
  $('stat-played').textContent = `${(stats.playedMs / 1000).toFixed(1)} s`;
}

function setConnected(connected) {
  stats.connected = connected;
  $('hang-up').disabled = !connected;
  $('text').disabled = !connected;
  $('send').disabled = !connected;
  $('alias').disabled = connected;
  $('voice').disabled = connected;
  $('text-only').disabled = connected;
}

async function loadOptions() {
  const response = await fetch('/console/options.json');
  options = await response.json();
  for (const alias of options.aliases) $('alias').add(new Option(alias.id, alias.id));
  for (const voice of options.voices) $('voice').add(new Option(voice, voice, voice === options.default_voice));
  $('key-field').hidden = !options.key_required;
  setStatus(options.aliases.length ? 'Pick a model and press Talk.' : 'This gateway serves no model.');
}

// ---- the secret and the socket ----------------------------------------------------------------------------

async function mintSecret(alias, voice) {
  if (options.key_required && !operatorKey) {
    operatorKey = $('key').value.trim();
    $('key').value = ''; // from now on only this module's variable holds it
    if (!operatorKey) throw new Error('Enter the gateway key first.');
  }
  const headers = { 'Content-Type': 'application/json' };
  if (operatorKey) headers.Authorization = `Bearer ${operatorKey}`;
  const session = {
    type: 'realtime',
    model: alias,
    instructions: INSTRUCTIONS,
    audio: { input: { transcription: { model: 'gpt-4o-transcribe' } }, output: { voice } },
    tools: [TIME_TOOL],
  };
  const response = await fetch('/v1/realtime/client_secrets', {
    method: 'POST',
    headers,
    body: JSON.stringify({ expires_after: { anchor: 'created_at', seconds: 600 }, session }),
  });
  const body = await response.json();
  if (!response.ok) {
    if (response.status === 401) {
      operatorKey = null;
      $('key-field').hidden = !options.key_required;
    }
    throw new Error(body.error?.message || `HTTP ${response.status}`);
  }
  $('key-field').hidden = true;
  return body.value;
}

function connect(alias, secret) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${location.host}/v1/realtime?model=${encodeURIComponent(alias)}`;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, ['realtime', `openai-insecure-api-key.${secret}`]);
    socket.onopen = () => resolve(socket);
    socket.onerror = () => reject(new Error('The WebSocket could not connect.'));
    socket.onmessage = (message) => onServerEvent(JSON.parse(message.data));
    socket.onclose = (event) => {
      if (ws === socket) hangUp(`Closed (${event.code}${event.reason ? `: ${event.reason}` : ''}).`);
    };
  });
}

function send(event) {
  stats.sent.push(event.type);
  ws.send(JSON.stringify(event));
}

// ---- audio ------------------------------------------------------------------------------------------------

async function startAudio() {
  let ctx;
  try {
    ctx = new AudioContext({ sampleRate: RATE, latencyHint: 'interactive' });
  } catch {
    ctx = new AudioContext({ latencyHint: 'interactive' }); // the worklets resample
  }
  await ctx.audioWorklet.addModule('/console/worklets.js');
  const player = new AudioWorkletNode(ctx, 'pcm-player', { numberOfInputs: 0, outputChannelCount: [1] });
  player.connect(ctx.destination);
  player.port.onmessage = (event) => onPlayer(event.data);
  await ctx.resume();
  audio = { ctx, player, capture: null, stream: null };
}

async function startMicrophone() {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const source = audio.ctx.createMediaStreamSource(stream);
  const capture = new AudioWorkletNode(audio.ctx, 'pcm-capture', { outputChannelCount: [1] });
  capture.port.onmessage = (event) => {
    if (rms(new Int16Array(event.data)) > VOICED) lastVoicedAt = performance.now();
    if (ws && ws.readyState === WebSocket.OPEN) send({ type: 'input_audio_buffer.append', audio: toBase64(event.data) });
  };
  source.connect(capture);
  capture.connect(audio.ctx.destination); // outputs silence; keeps the node pulled by the graph
  audio.capture = capture;
  audio.stream = stream;
}

function onPlayer(message) {
  if (message.type === 'progress') {
    stats.playedMs += message.playedMs;
    stats.queuedMs = message.queuedMs;
    showStats();
  } else if (message.type === 'cleared') {
    stats.queuedMs = 0;
    if (message.item && ws) {
      // Tell the server how much of the reply was heard, so the conversation matches (OpenAI's barge-in flow).
      const truncate = { item_id: message.item, content_index: 0, audio_end_ms: Math.floor(message.ms) };
      stats.truncates.push(truncate);
      send({ type: 'conversation.item.truncate', ...truncate });
      const element = bubbles.get(message.item);
      if (element) {
        element.classList.add('interrupted');
        note(element, `heard ${(truncate.audio_end_ms / 1000).toFixed(1)} s`);
      }
    }
  }
}

function play(itemId, b64) {
  const bytes = fromBase64(b64);
  const pcm = new Int16Array(bytes.buffer, 0, bytes.byteLength >> 1);
  const samples = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 0x8000;
  audio.player.port.postMessage({ type: 'chunk', item: itemId, samples }, [samples.buffer]);
  stats.queuedMs += (samples.length * 1000) / RATE;
}

function rms(pcm) {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i] * pcm[i];
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(b64) {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// ---- server events ----------------------------------------------------------------------------------------

function firstOutput() {
  if (turnStartedAt === null) return;
  stats.turns.push({ ttfaMs: performance.now() - turnStartedAt });
  turnStartedAt = null;
  showStats();
}

function addUsage(usage) {
  if (!usage) return;
  const price = options.aliases.find((a) => a.id === $('alias').value)?.price;
  const inputs = usage.input_token_details || {};
  const outputs = usage.output_token_details || {};
  stats.tokensIn += usage.input_tokens || 0;
  stats.tokensOut += usage.output_tokens || 0;
  if (price) {
    const perToken = 1e-6; // prices are USD per million tokens
    stats.costUsd +=
      perToken *
      ((inputs.text_tokens || 0) * price.input_text +
        (inputs.audio_tokens || 0) * price.input_audio +
        (inputs.image_tokens || 0) * price.input_image +
        (outputs.text_tokens || 0) * price.output_text +
        (outputs.audio_tokens || 0) * price.output_audio);
  }
  showStats();
}

async function answerCalls() {
  const calls = pendingCalls;
  pendingCalls = [];
  for (const call of calls) {
    let args = {};
    try {
      args = JSON.parse(call.arguments || '{}');
    } catch {
      args = {};
    }
    const output = runTool(call.name, args);
    stats.toolCalls.push({ name: call.name, arguments: call.arguments, output });
    write(bubble(`${call.call_id}:out`, 'tool', `${call.name} returned`), JSON.stringify(output), false);
    send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: call.call_id, output: JSON.stringify(output) } });
  }
  if (calls.length) {
    turnStartedAt ??= performance.now(); // a call answered before any audio: the turn's clock keeps running
    send({ type: 'response.create' });
  }
}

function runTool(name, args) {
  if (name !== 'get_time') return { error: `no tool named ${name}` };
  const timeZone = args.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    return { time: new Date().toLocaleString('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'long' }), timezone: timeZone };
  } catch {
    return { error: `unknown time zone ${timeZone}` };
  }
}

const HANDLERS = {
  'session.created': (event) => {
    stats.sessionId = event.session.id;
    setStatus(`Connected to ${event.session.model} (${event.session.id}).`);
  },
  'input_audio_buffer.speech_started': (event) => {
    audio.player.port.postMessage({ type: 'clear' }); // barge-in: stop the reply at once
    speechStartMs = event.audio_start_ms;
    bubble(event.item_id, 'user', 'you (speaking)');
  },
  'input_audio_buffer.speech_stopped': (event) => {
    // The user stopped talking when the microphone last carried voice (the server may say so later).
    turnStartedAt = lastVoicedAt ?? performance.now();
    note(bubble(event.item_id, 'user', 'you'), `${((event.audio_end_ms - speechStartMs) / 1000).toFixed(1)} s of speech`);
  },
  'conversation.item.input_audio_transcription.delta': (event) => write(bubble(event.item_id, 'user', 'you'), event.delta),
  'conversation.item.input_audio_transcription.completed': (event) => {
    const element = bubble(event.item_id, 'user', 'you');
    element.querySelector('.who').textContent = 'you';
    write(element, event.transcript, false);
  },
  'response.output_audio.delta': (event) => {
    firstOutput();
    bubble(event.item_id, 'assistant', 'assistant');
    play(event.item_id, event.delta);
  },
  'response.output_audio_transcript.delta': (event) => write(bubble(event.item_id, 'assistant', 'assistant'), event.delta),
  'response.output_text.delta': (event) => {
    firstOutput();
    write(bubble(event.item_id, 'assistant', 'assistant'), event.delta);
  },
  'response.output_item.done': (event) => {
    const item = event.item;
    if (item.type === 'function_call') {
      pendingCalls.push(item);
      write(bubble(item.call_id, 'tool', 'tool call'), `${item.name}(${item.arguments || ''})`, false);
    }
  },
  'response.created': () => {
    responding = true;
  },
  'response.done': (event) => {
    responding = false;
    addUsage(event.response.usage);
    const last = stats.turns.at(-1);
    for (const item of event.response.output || []) {
      const element = bubbles.get(item.id);
      if (element && item.type === 'message' && last && !element.querySelector('.meta').textContent) {
        note(element, `first audio after ${Math.round(last.ttfaMs)} ms`);
      }
    }
    answerCalls();
  },
  error: (event) => {
    stats.errors.push(event.error);
    write(bubble(null, 'error', 'error'), event.error.message, false);
  },
};

function onServerEvent(event) {
  stats.events.push(event.type);
  const handler = HANDLERS[event.type];
  if (handler) handler(event);
}

// ---- controls ---------------------------------------------------------------------------------------------

async function start(withMicrophone) {
  if (stats.connected) {
    if (withMicrophone && !audio.capture) await startMicrophone();
    setStatus('Listening. Speak, or type.');
    return;
  }
  const alias = $('alias').value;
  try {
    setStatus('Asking the gateway for a client secret…');
    await startAudio(); // inside the click: browsers only start audio on a user gesture
    const secret = await mintSecret(alias, $('voice').value);
    setStatus('Connecting…');
    ws = await connect(alias, secret);
    setConnected(true);
    if (withMicrophone) await startMicrophone();
    setStatus(withMicrophone ? 'Listening. Speak, or type.' : 'Connected. Type a message.');
  } catch (error) {
    hangUp(error.message, true);
  }
}

function hangUp(message = 'Hung up.', isError = false) {
  const socket = ws;
  ws = null;
  if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000);
  if (audio) {
    audio.stream?.getTracks().forEach((track) => track.stop());
    audio.ctx.close();
    audio = null;
  }
  setConnected(false);
  setStatus(message, isError);
}

$('connect').addEventListener('submit', (event) => {
  event.preventDefault();
  start(true);
});
$('text-only').addEventListener('click', () => start(false));
$('hang-up').addEventListener('click', () => hangUp());
$('typed').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (!text || !ws) return;
  $('text').value = '';
  audio.player.port.postMessage({ type: 'clear' }); // the user interrupts: stop the reply, truncate it
  if (responding) send({ type: 'response.cancel' });
  write(bubble(null, 'user', 'you (typed)'), text, false);
  turnStartedAt = performance.now();
  send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });
  send({ type: 'response.create' });
});

loadOptions().catch((error) => setStatus(`Could not load the gateway's options: ${error.message}`, true));
