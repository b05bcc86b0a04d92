// Feedback a noisy shop floor can hear and feel: three distinct sounds + vibration patterns.
// Success: two short high beeps. Warn: two mid tones going down. Error: a long low double buzz.

let ctx = null;
const PATTERNS = {
  success: { tones: [[1760, 0, 0.07], [2350, 0.09, 0.09]], wave: 'square', gain: 0.18, vibrate: [40] },
  warn: { tones: [[880, 0, 0.14], [660, 0.18, 0.18]], wave: 'triangle', gain: 0.3, vibrate: [80, 60, 80] },
  error: { tones: [[220, 0, 0.28], [180, 0.34, 0.36]], wave: 'sawtooth', gain: 0.28, vibrate: [250, 100, 250] },
};
const log = [];

function audio() {
  if (!ctx) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    ctx = new AC();
  }
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return ctx;
}

/** Browsers only start audio after a user gesture: unlock on the first touch/key. */
export function installUnlock() {
  const unlock = () => { audio(); window.removeEventListener('pointerdown', unlock, true); window.removeEventListener('keydown', unlock, true); };
  window.addEventListener('pointerdown', unlock, true);
  window.addEventListener('keydown', unlock, true);
}

function play(kind) {
  const p = PATTERNS[kind];
  log.push(kind);
  if (log.length > 50) log.shift();
  document.documentElement.dataset.feedback = kind;
  const muted = localStorage.getItem('storehub.mute') === '1';
  if (!muted) {
    const ac = audio();
    if (ac) {
      const t0 = ac.currentTime + 0.01;
      for (const [freq, start, dur] of p.tones) {
        const osc = ac.createOscillator();
        const gain = ac.createGain();
        osc.type = p.wave;
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, t0 + start);
        gain.gain.exponentialRampToValueAtTime(p.gain, t0 + start + 0.01);
        gain.gain.setValueAtTime(p.gain, t0 + start + dur - 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + start + dur);
        osc.connect(gain).connect(ac.destination);
        osc.start(t0 + start);
        osc.stop(t0 + start + dur + 0.02);
      }
    }
  }
  if (navigator.vibrate) {
    try { navigator.vibrate(p.vibrate); } catch { /* not allowed before a gesture */ }
  }
}

export const feedback = {
  success: () => play('success'),
  warn: () => play('warn'),
  error: () => play('error'),
  history: () => log.slice(),
};
