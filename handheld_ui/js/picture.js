// Item pictures: a thumbnail box that shows a neat placeholder until (and unless) the picture has loaded — never a
// broken image — and the upload of a photo from the camera or a file.
//
// A picture named by its hash (`item.picture_sha256`) is an immutable URL the service worker keeps for offline use;
// a screen that knows only the item id (the count's last scan, the current pick) asks the hub, which redirects to
// the item's current picture or answers 404 (no picture: the placeholder stays).

import { API, ApiError, csrfToken, deviceId } from './api.js';
import { h, icon } from './dom.js';

export const SIZES = [96, 320, 1024];

export function pictureUrl(sha, size = 96) {
  return `${API}/pictures/${sha}/${size}`;
}

function sourceOf({ sha, itemId }, size) {
  if (sha) return pictureUrl(sha, size);
  if (itemId) return `${API}/items/${encodeURIComponent(itemId)}/picture/${size}`;
  return null;
}

/**
 * Point a thumb box at a picture: {sha} when the item's picture hash is known, else {itemId}; neither (or an item
 * known to have none: {sha: null, none: true}) leaves the placeholder. data-state: none | loading | loaded.
 */
export function setThumb(box, { sha = null, itemId = null, none = false, alt = '' } = {}, size = 96) {
  const src = none ? null : sourceOf({ sha, itemId }, size);
  const old = box.querySelector('img');
  if (old && old.dataset.src === src) return;
  if (old) old.remove();
  box.classList.remove('loaded');
  if (!src) { box.dataset.state = 'none'; return; }
  box.dataset.state = 'loading';
  const img = h('img', { alt, loading: 'lazy', decoding: 'async', draggable: 'false' });
  img.dataset.src = src;
  img.addEventListener('load', () => {
    if (img.naturalWidth > 0) { box.classList.add('loaded'); box.dataset.state = 'loaded'; }
  });
  // no picture (404), offline, or not decodable: the placeholder stays and the image goes
  img.addEventListener('error', () => { img.remove(); box.dataset.state = 'none'; });
  img.src = src;
  box.append(img);
}

/** A square thumbnail box with a placeholder; `cls` 'thumb' (list rows), 'thumb md' or 'thumb lg' (item screen). */
export function thumb(source, { size = 96, cls = 'thumb', testid = null, alt = '' } = {}) {
  const box = h('span', { class: cls, 'data-testid': testid }, icon('box', 'icon ph'));
  setThumb(box, { ...source, alt }, size);
  return box;
}

const SEND_MAX_SIDE = 2048; // the hub keeps at most 1024 px: twice that is plenty, and a fraction of a phone photo
const SEND_AS_IS_BYTES = 1.5 * 1024 * 1024;

/**
 * A big photo is made smaller on the phone before it is sent: drawn upright (the browser applies its EXIF
 * orientation) at most SEND_MAX_SIDE px on a canvas and sent as JPEG — so store Wi-Fi carries ~0.5 MB instead of
 * 5-15 MB, the 10 MB limit is not met by a 50 MP camera, and the photo's metadata (GPS position) never leaves the
 * phone. A small file, or one the browser cannot draw, is sent as it is (the hub checks and strips it anyway).
 */
export async function shrinkForUpload(file) {
  if (file.size <= SEND_AS_IS_BYTES || typeof createImageBitmap !== 'function') return file;
  try {
    const bmp = await createImageBitmap(file); // its default: drawn as the EXIF orientation says
    const scale = Math.min(1, SEND_MAX_SIDE / Math.max(bmp.width, bmp.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bmp.width * scale);
    canvas.height = Math.round(bmp.height * scale);
    canvas.getContext('2d').drawImage(bmp, 0, 0, canvas.width, canvas.height);
    bmp.close();
    const blob = await new Promise((res) => canvas.toBlob(res, 'image/jpeg', 0.9));
    return blob && blob.size < file.size ? blob : file;
  } catch {
    return file; // not drawable here (e.g. not an image at all): the hub says what is wrong with it
  }
}

/** PUT the file as the item's picture (the body is the image itself). Resolves to the hub's answer. */
export async function uploadPicture(itemId, original, { timeout = 60000 } = {}) {
  const file = await shrinkForUpload(original);
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeout);
  let resp;
  try {
    resp = await fetch(`${API}/items/${encodeURIComponent(itemId)}/picture`, {
      method: 'PUT', body: file, credentials: 'same-origin', cache: 'no-store', signal: ctl.signal,
      headers: { Accept: 'application/json', 'Content-Type': file.type || 'application/octet-stream',
        'X-Device-Id': deviceId(), 'X-CSRF-Token': csrfToken() },
    });
  } catch (err) {
    throw new ApiError({ code: 'hub_unreachable', message: String(err && err.message || err), offline: true });
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    throw new ApiError({ status: resp.status, code: e.code || `http_${resp.status}`, message: e.message || '', details: e.details });
  }
  return data;
}
