// Tiny DOM helpers shared by the shell and every screen.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** h('button', {class: 'btn', onclick: fn, 'aria-label': '…', dataset: {x: 1}}, 'text', node, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Close every open <dialog>: modal ones sit in the top layer, above the lock and the login screen. */
export function closeDialogs() {
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
}

// 24×24 stroke icons (drawn for StoreHub). Add one here when a screen needs it.
export const ICONS = {
  search: 'M10.5 3a7.5 7.5 0 1 0 4.7 13.35L20 21.2 21.2 20l-4.85-4.8A7.5 7.5 0 0 0 10.5 3z',
  box: 'M3 7.5 12 3l9 4.5v9L12 21l-9-4.5zM3 7.5l9 4.5 9-4.5M12 12v9',
  sync: 'M4 12a8 8 0 0 1 14-5.3M20 4v4h-4M20 12a8 8 0 0 1-14 5.3M4 20v-4h4',
  user: 'M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zM3.5 21a8.5 8.5 0 0 1 17 0',
  logout: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
  lock: 'M6 10h12v11H6zM8.5 10V7a3.5 3.5 0 0 1 7 0v3M12 14v3',
  camera: 'M3 7h4l2-3h6l2 3h4v13H3zM12 17a4 4 0 1 0 0-8 4 4 0 0 0 0 8z',
  keyboard: 'M2.5 6h19v12h-19zM6 10h.01M9.5 10h.01M13 10h.01M16.5 10h.01M7 14h10',
  online: 'M2 8.5a15 15 0 0 1 20 0M5.5 12a10 10 0 0 1 13 0M9 15.5a5 5 0 0 1 6 0M12 19h.01',
  offline: 'M3 3l18 18M9 15.5a5 5 0 0 1 6 0M12 19h.01M5.5 12a10 10 0 0 1 4-2.3M2 8.5A15 15 0 0 1 7 5.6M14.5 9.6A10 10 0 0 1 18.5 12M17 6a15 15 0 0 1 5 2.5',
  check: 'M4 12.5l5 5L20 6.5',
  alert: 'M12 3 2 20h20zM12 10v4M12 17h.01',
  x: 'M5 5l14 14M19 5 5 19',
  back: 'M15 4l-8 8 8 8',
  chevron: 'M9 5l7 7-7 7',
  plus: 'M12 4v16M4 12h16',
  minus: 'M4 12h16',
  globe: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM3 12h18M12 3c2.5 2.5 3.5 5.5 3.5 9s-1 6.5-3.5 9c-2.5-2.5-3.5-5.5-3.5-9s1-6.5 3.5-9z',
  barcode: 'M3 7V4h3M18 4h3v3M21 17v3h-3M6 20H3v-3M7 8v8M10.5 8v8M14 8v8M17.5 8v8',
  clipboard: 'M9 4h6v3H9zM7 5.5H5V21h14V5.5h-2M8.5 12h7M8.5 16h5',
  truck: 'M2 6h12v10H2zM14 10h4l3 3v3h-7M6 19a2 2 0 1 0 0-4 2 2 0 0 0 0 4zM17 19a2 2 0 1 0 0-4 2 2 0 0 0 0 4z',
  pin: 'M12 21s7-6.2 7-11.5a7 7 0 0 0-14 0C5 14.8 12 21 12 21zM12 12a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z',
  home: 'M3 11 12 3l9 8M5.5 9.5V21h13V9.5',
  flag: 'M5 21V4M5 4h12l-2 4 2 4H5',
  backspace: 'M8 5h13v14H8l-6-7zM12 9l6 6M18 9l-6 6',
  clock: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7v5l3.5 2',
  tag: 'M3 12V3h9l9 9-9 9zM7.5 7.5h.01',
  rfid: 'M4 12a8 8 0 0 1 8-8M7.5 12A4.5 4.5 0 0 1 12 7.5M20 12a8 8 0 0 1-8 8M16.5 12a4.5 4.5 0 0 1-4.5 4.5M12 12h.01',
  printer: 'M7 8V3h10v5M5 8h14v8h-2v5H7v-5H5zM7 14h10',
};

export function icon(name, cls = 'icon') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', ICONS[name] || ICONS.box);
  svg.append(path);
  return svg;
}
