// StoreHub handheld service worker: keeps the app on the device so it opens with no network.
// The API (/api/) is never cached or intercepted: live data and writes always go to the hub (writes that
// cannot reach it are queued by the app in IndexedDB, not here). One exception: item pictures by content hash
// (/api/v1/pictures/<sha256>/<size>) are immutable, so they are kept (cache first, the newest PICTURE_MAX) and
// lookups show them offline.
// Install precaches the shell (SHELL), the hub's screen list (screens.json), every screen module it names and
// their catalogs in every language, so after one visit every screen opens offline.
// Shell files: stale-while-revalidate (instant start, refreshed in the background). The page itself:
// network first with a short timeout, then the cached copy. Bump VERSION to drop old caches at once.

const VERSION = 'v5';
const CACHE = `storehub-shell-${VERSION}`;
const SHELL = [
  './', 'index.html', 'manifest.webmanifest', 'css/app.css',
  'js/app.js', 'js/api.js', 'js/camera.js', 'js/dom.js', 'js/errors.js', 'js/feedback.js', 'js/format.js', 'js/home.js',
  'js/i18n.js', 'js/language.js', 'js/live.js', 'js/lock.js', 'js/login.js', 'js/pager.js', 'js/pinpad.js', 'js/queue.js',
  'js/picture.js', 'js/recent.js', 'js/router.js', 'js/scanner.js', 'js/scanroute.js', 'js/screens.js', 'js/session.js',
  'js/state.js', 'js/status.js', 'js/toast.js',
  // the customer display of a till (/display/<till>) is served by the same hub and cached with the shell
  'display.html', 'js/checkout_display.js',
  'i18n/core.en.json', 'i18n/core.zh-CN.json', 'i18n/errors.en.json', 'i18n/errors.zh-CN.json',
  'icons/icon.svg', 'icons/icon-192.png', 'icons/icon-512.png', 'icons/icon-maskable-512.png',
];
const SCREEN_LIST = 'screens.json';
const LANGUAGES = ['en', 'zh-CN']; // = LANGUAGES in js/i18n.js (a classic worker cannot import that module)
const PAGE_TIMEOUT_MS = 3000;
const PICTURES = 'storehub-pictures-v1'; // not a shell cache: kept across versions (its URLs never change)
const PICTURE_PATH = /^\/api\/v1\/pictures\/[0-9a-f]{64}\/(96|320|1024)$/;
const PICTURE_MAX = 600; // ~3 KB a 96 px thumbnail, ~15 KB a 320 px one

// Everything or nothing: a worker that installed without a screen would leave that screen dead offline, so a
// failed install keeps the previous worker (and its cache) and is retried on the next start.
async function precache() {
  const cache = await caches.open(CACHE);
  await cache.addAll(SHELL);
  const resp = await fetch(SCREEN_LIST, { cache: 'no-cache' });
  if (!resp.ok) throw new Error(`${SCREEN_LIST}: HTTP ${resp.status}`);
  const { screens } = await resp.clone().json();
  await cache.addAll(screens.flatMap((n) => [`screens/${n}.js`, ...LANGUAGES.map((l) => `i18n/${n}.${l}.json`)]));
  await cache.put(SCREEN_LIST, resp);
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith('storehub-shell-') && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

// The app sends what its start used (the screen list it got, its screens, catalogs, icons): a hub that lists
// more screens than it did when this worker installed gets those cached too.
self.addEventListener('message', (event) => {
  const data = event.data || {};
  if (data.type !== 'cache-urls' || !Array.isArray(data.urls)) return;
  event.waitUntil(caches.open(CACHE).then((c) => Promise.all(data.urls.map(async (u) => {
    if (await c.match(u)) return;
    try { await c.add(u); } catch { /* missing file: the app logs it when it needs it */ }
  }))));
});

async function fromNetwork(request, cache) {
  const resp = await fetch(request);
  if (resp.ok && resp.type === 'basic') await cache.put(request, resp.clone());
  return resp;
}

async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    return await Promise.race([
      fromNetwork(request, cache),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), PAGE_TIMEOUT_MS)),
    ]);
  } catch {
    return (await cache.match(request, { ignoreSearch: true })) || (await cache.match('./')) || (await cache.match('index.html'))
      || new Response('offline', { status: 503 });
  }
}

async function asset(event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(event.request, { ignoreSearch: true });
  const refresh = fromNetwork(event.request, cache);
  if (cached) {
    event.waitUntil(refresh.catch(() => {}));
    return cached;
  }
  return refresh;
}

async function picture(event) {
  const cache = await caches.open(PICTURES);
  const cached = await cache.match(event.request);
  if (cached) return cached;
  const resp = await fetch(event.request);
  if (resp.ok && resp.type === 'basic') {
    event.waitUntil((async () => {
      await cache.put(event.request, resp.clone());
      const keys = await cache.keys(); // insertion order: the oldest first
      for (const k of keys.slice(0, Math.max(0, keys.length - PICTURE_MAX))) await cache.delete(k);
    })());
  }
  return resp;
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin === self.location.origin && PICTURE_PATH.test(url.pathname)) {
    event.respondWith(picture(event));
    return;
  }
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  event.respondWith(req.mode === 'navigate' ? page(req) : asset(event));
});
