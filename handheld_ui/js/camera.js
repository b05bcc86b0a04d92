// Camera scanning with the browser's BarcodeDetector (Chrome on Android, ChromeOS, macOS), and the manual
// entry dialog that is always there as the fallback.

import { h, icon } from './dom.js';
import { t } from './i18n.js';

const WANTED = ['ean_13', 'ean_8', 'upc_a', 'upc_e', 'code_128', 'code_39', 'itf', 'qr_code', 'data_matrix'];

export function cameraAvailable() {
  return 'BarcodeDetector' in window && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

function dialogShell(titleKey, testid) {
  const dlg = h('dialog', { class: 'sheet', 'data-testid': testid, 'aria-labelledby': `${testid}-title` });
  const close = h('button', { class: 'btn icon-only', type: 'button', 'aria-label': t('common.close'), onclick: () => dlg.close() }, icon('x'));
  dlg.append(h('div', { class: 'sheet-head' }, h('h2', { id: `${testid}-title` }, t(titleKey)), close));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  return dlg;
}

/** Open the camera; resolves with the first code seen, or null when closed. */
export function scanWithCamera() {
  return new Promise((resolve) => {
    const dlg = dialogShell('core.camera_title', 'camera-dialog');
    const video = h('video', { class: 'camera-video', playsinline: true, muted: true, autoplay: true });
    const status = h('p', { class: 'muted', role: 'status' }, t('core.camera_starting'));
    dlg.append(h('div', { class: 'camera-frame' }, video, h('div', { class: 'camera-aim', 'aria-hidden': 'true' })), status);
    let stream = null;
    let timer = null;
    let found = null;
    dlg.addEventListener('close', () => {
      clearTimeout(timer);
      if (stream) stream.getTracks().forEach((tr) => tr.stop());
      resolve(found);
    });
    dlg.showModal();
    (async () => {
      try {
        const supported = await window.BarcodeDetector.getSupportedFormats();
        const formats = WANTED.filter((f) => supported.includes(f));
        const detector = new window.BarcodeDetector(formats.length ? { formats } : undefined);
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
        video.srcObject = stream;
        await video.play().catch(() => {});
        status.textContent = t('core.camera_hint');
        const tick = async () => {
          if (!dlg.open) return;
          try {
            const codes = await detector.detect(video);
            if (codes && codes.length && codes[0].rawValue) {
              found = { code: codes[0].rawValue, format: codes[0].format };
              dlg.close();
              return;
            }
          } catch { /* frame not ready */ }
          timer = setTimeout(tick, 150);
        };
        tick();
      } catch (err) {
        status.textContent = t('core.camera_failed');
        console.warn('camera failed', String(err));
      }
    })();
  });
}

/** Type a code by hand (the scanner fallback). Resolves with the code or null. */
export function manualEntry() {
  return new Promise((resolve) => {
    const dlg = dialogShell('core.manual_title', 'manual-dialog');
    const input = h('input', {
      id: 'manual-code', class: 'field', type: 'text', inputmode: 'text', autocomplete: 'off', autocapitalize: 'characters',
      spellcheck: 'false', 'data-testid': 'manual-code', 'aria-label': t('core.manual_label'),
    });
    let value = null;
    const form = h('form', {
      class: 'stack', onsubmit: (e) => {
        e.preventDefault();
        const v = input.value.trim();
        if (!v) { input.focus(); return; }
        value = v;
        dlg.close();
      },
    },
    h('label', { for: 'manual-code', class: 'label' }, t('core.manual_label')),
    input,
    h('button', { class: 'btn primary big', type: 'submit', 'data-testid': 'manual-ok' }, icon('check'), t('common.ok')));
    dlg.append(form);
    dlg.addEventListener('close', () => resolve(value));
    dlg.showModal();
    input.focus();
  });
}
