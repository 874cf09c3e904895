// The console's two AudioWorklet processors: microphone → pcm16 24 kHz chunks, and gap-free pcm16 playback.
// The page asks for a 24 kHz AudioContext (the browser then resamples the microphone and the output itself);
// where a browser cannot run one, both processors resample linearly between 24 kHz and the context's rate.

const RATE = 24000; // OpenAI's pcm16 rate (input_audio_buffer.append, response.output_audio.delta)
const CHUNK = 960; // 40 ms at 24 kHz per input_audio_buffer.append
const REPORT_FRAMES = 1200; // playback progress reported every 50 ms of audio

class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / RATE; // context samples per 24 kHz sample
    this.pos = 0; // read position (fractional) in the current input block
    this.last = 0; // the previous block's last sample, for interpolation across blocks
    this.chunk = new Int16Array(CHUNK);
    this.fill = 0;
  }

  push(value) {
    const clamped = Math.max(-1, Math.min(1, value));
    this.chunk[this.fill++] = clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff;
    if (this.fill === CHUNK) {
      this.port.postMessage(this.chunk.buffer, [this.chunk.buffer]);
      this.chunk = new Int16Array(CHUNK);
      this.fill = 0;
    }
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) {
      return true;
    }
    if (this.step === 1) {
      for (let i = 0; i < input.length; i++) this.push(input[i]);
      return true;
    }
    while (this.pos < input.length) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const a = i === 0 ? this.last : input[i - 1];
      this.push(a + (input[i] - a) * frac);
      this.pos += this.step;
    }
    this.pos -= input.length;
    this.last = input[input.length - 1];
    return true;
  }
}

class PcmPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = RATE / sampleRate; // 24 kHz samples per context sample
    this.queue = []; // {item, samples: Float32Array} in arrival order
    this.offset = 0; // read position (fractional) in queue[0]
    this.played = new Map(); // item id → 24 kHz samples played
    this.sinceReport = 0; // context frames since the last progress report
    this.voicedSinceReport = 0; // of which carried queued audio
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(message) {
    if (message.type === 'chunk') {
      this.queue.push(message);
    } else if (message.type === 'clear') {
      // Barge-in: drop what is queued at once and say how much of the current item was heard.
      const item = this.queue.length ? this.queue[0].item : null;
      this.queue = [];
      this.offset = 0;
      this.port.postMessage({ type: 'cleared', item, ms: item ? this.playedMs(item) : 0 });
    }
  }

  playedMs(item) {
    return ((this.played.get(item) || 0) * 1000) / RATE;
  }

  queuedSamples() {
    let total = -Math.floor(this.offset);
    for (const chunk of this.queue) total += chunk.samples.length;
    return Math.max(0, total);
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    let voiced = 0;
    for (let i = 0; i < out.length; i++) {
      const chunk = this.queue[0];
      if (!chunk) {
        out[i] = 0;
        continue;
      }
      const at = Math.floor(this.offset);
      out[i] = chunk.samples[at];
      voiced++;
      this.offset += this.step;
      const consumed = Math.floor(this.offset) - at;
      if (consumed) this.played.set(chunk.item, (this.played.get(chunk.item) || 0) + consumed);
      if (this.offset >= chunk.samples.length) {
        this.offset -= chunk.samples.length;
        this.queue.shift();
      }
    }
    // Progress for the page: audio actually played (context frames taken from the queue) and what is left.
    this.sinceReport += out.length;
    this.voicedSinceReport += voiced;
    const drained = voiced > 0 && !this.queue.length;
    if ((this.sinceReport >= REPORT_FRAMES && this.voicedSinceReport) || drained) {
      const playedMs = (this.voicedSinceReport * 1000) / sampleRate;
      this.port.postMessage({ type: 'progress', playedMs, queuedMs: (this.queuedSamples() * 1000) / RATE, drained });
      this.voicedSinceReport = 0;
    }
    if (this.sinceReport >= REPORT_FRAMES) this.sinceReport = 0;
    return true;
  }
}

registerProcessor('pcm-capture', PcmCapture);
registerProcessor('pcm-player', PcmPlayer);
