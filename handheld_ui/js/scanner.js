// Keyboard-wedge scan capture (Zebra DataWedge, Honeywell, USB/Bluetooth wedges).
//
// A scanner "types" its code as a burst of key events a few ms apart, then Enter or Tab. A person types
// 80–300 ms apart. We listen on window in the capture phase, so it works with or without a focused field,
// and record every printable key with its timestamp from the very first one (nothing is lost while we
// decide). Only at the suffix key do we decide: if the burst was machine-fast it is a scan — the suffix is
// swallowed (no form submit, no focus move) and any characters the burst typed into a focused field are
// taken back out. Otherwise the keys were a person's and are left alone.
//
// GS (0x1D, FNC1 inside GS1-128 / DataMatrix) arrives as Ctrl+] from wedges in keyboard mode, or as a key
// whose value is the raw 0x1D character; both become '\x1d' in the code. A configured printable substitute
// (settings.gs_substitute, e.g. '|') is an ordinary character and is passed through for the hub to map.

const DEFAULTS = {
  fastGapMs: 45,      // a gap this short is machine speed
  breakGapMs: 120,    // a gap longer than this starts a new burst
  minLength: 3,       // shorter bursts are never scans
  fastShare: 0.7,     // share of gaps that must be fast
};

export const GS = '\x1d';
const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'AltGraph', 'Meta', 'CapsLock', 'NumLock', 'Fn']);

function config() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem('storehub.scanner') || '{}') };
  } catch {
    return { ...DEFAULTS };
  }
}

function isEditable(el) {
  return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') && !el.readOnly && !el.disabled;
}

function snapshot() {
  const el = document.activeElement;
  // a focused <select> jumps to options by typed letters: remember its choice too
  if (el && el.tagName === 'SELECT') return { el, value: el.value, start: null, end: null };
  if (!isEditable(el)) return null;
  let start = null;
  let end = null;
  try { start = el.selectionStart; end = el.selectionEnd; } catch { /* type=number etc. */ }
  return { el, value: el.value, start, end };
}

function restore(snap) {
  if (!snap || snap.el.value === snap.value) return;
  snap.el.value = snap.value;
  if (snap.el.tagName === 'SELECT') return;
  try {
    if (snap.start !== null) snap.el.setSelectionRange(snap.start, snap.end);
  } catch { /* ignore */ }
}

export function charOf(e) {
  if (e.key === GS) return GS;
  if (e.ctrlKey && !e.altKey && (e.key === ']' || e.code === 'BracketRight' || e.key === GS)) return GS;
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  return e.key && e.key.length === 1 ? e.key : null;
}

export function isBurst(times, endTime, cfg = config()) {
  const stamps = [...times, endTime];
  const gaps = [];
  for (let i = 1; i < stamps.length; i++) gaps.push(stamps[i] - stamps[i - 1]);
  if (times.length < cfg.minLength || !gaps.length) return false;
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const fast = gaps.filter((g) => g <= cfg.fastGapMs).length;
  return median <= cfg.fastGapMs && fast / gaps.length >= cfg.fastShare;
}

export function createScanner(onScan) {
  let chars = [];
  let times = [];
  let snap = null;
  let last = -Infinity;
  let count = 0;

  function reset() {
    chars = [];
    times = [];
    snap = null;
  }

  function onKeyDown(e) {
    if (e.isComposing || e.key === 'Process' || e.keyCode === 229) { reset(); return; }
    if (MODIFIERS.has(e.key)) return;
    const now = e.timeStamp || performance.now();
    const cfg = config();
    const ch = charOf(e);
    if (ch !== null) {
      if (!chars.length || now - last > cfg.breakGapMs) {
        reset();
        snap = snapshot();
      }
      chars.push(ch);
      times.push(now);
      last = now;
      if (ch === GS) e.preventDefault(); // Ctrl+] has no meaning in a page; never let it reach a shortcut
      return;
    }
    const isSuffix = (e.key === 'Enter' || e.key === 'Tab') && !e.ctrlKey && !e.altKey && !e.metaKey;
    if (isSuffix && chars.length && now - last <= cfg.breakGapMs && isBurst(times, now, cfg)) {
      e.preventDefault();
      e.stopImmediatePropagation();
      const code = chars.join('');
      const ms = Math.round(now - times[0]);
      restore(snap);
      reset();
      count += 1;
      document.documentElement.dataset.scans = String(count);
      onScan({ code, source: 'wedge', ms });
      return;
    }
    reset();
  }

  window.addEventListener('keydown', onKeyDown, true);
  return {
    stop: () => window.removeEventListener('keydown', onKeyDown, true),
    get count() { return count; },
  };
}
