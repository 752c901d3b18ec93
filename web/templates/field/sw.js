/* gridmap field app service worker: the shell from the cache, data network-first. */
const SHELL_CACHE = "gridmap-field-shell-{{ version }}";
const DATA_CACHE = "gridmap-field-data";
const SHELL = {{ shell|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE)
    .then((cache) => cache.addAll(SHELL.map((u) => new Request(u, {credentials: "same-origin"}))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys
    .filter((k) => k.startsWith("gridmap-field-shell-") && k !== SHELL_CACHE)
    .map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});

async function shellFirst(request) {
  const cached = await caches.match(request, {ignoreSearch: true});
  if (cached) {
    fetch(request).then((r) => { if (r.ok && !r.redirected) caches.open(SHELL_CACHE).then((c) => c.put(request, r)); }).catch(() => {});
    return cached;
  }
  return fetch(request);
}

async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok) (await caches.open(DATA_CACHE)).put(request, response.clone());
    return response;
  } catch (err) {
    const cached = await caches.match(request);
    if (cached) return cached;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (SHELL.includes(url.pathname)) { event.respondWith(shellFirst(event.request)); return; }
  if (url.pathname.startsWith("/field/api/")) { event.respondWith(networkFirst(event.request)); }
});
