// StoreHub handheld service worker: keeps the app shell on the device so it opens with no network.
// The API (/api/) is never cached or intercepted: live data and writes always go to the hub (writes that
// cannot reach it are queued by the app in IndexedDB, not here).
// Shell files: stale-while-revalidate (instant start, refreshed in the background). The page itself:
// network first with a short timeout, then the cached copy. Bump VERSION to drop old caches at once.

const VERSION = 'v1';
const CACHE = `storehub-shell-${VERSION}`;
const SHELL = [
  './', 'index.html', 'manifest.webmanifest', 'css/app.css',
  'js/app.js', 'js/api.js', 'js/camera.js', 'js/dom.js', 'js/feedback.js', 'js/format.js', 'js/i18n.js',
  'js/live.js', 'js/pinpad.js', 'js/queue.js', 'js/recent.js', 'js/scanner.js', 'screens/index.js',
  'i18n/core.en.json', 'i18n/core.zh-CN.json',
  'icons/icon.svg', 'icons/icon-192.png', 'icons/icon-512.png', 'icons/icon-maskable-512.png',
];
const PAGE_TIMEOUT_MS = 3000;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith('storehub-shell-') && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

// The app sends the files of every registered screen and every catalog, so all of them work offline.
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

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  event.respondWith(req.mode === 'navigate' ? page(req) : asset(event));
});
