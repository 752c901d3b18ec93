/* gridmap field app: the grid leader's phone.
 *
 * One page: the map of the chosen grid, today's list, patrol recording, hazard reports
 * with photos, and the queue of what waits to be sent. Everything the leader records
 * goes into an IndexedDB queue first, under an id made here, and is sent in order by
 * flush(); the server applies an id once, so a resend after a lost answer is harmless.
 * Names and addresses are data: they only ever reach the page as textContent.
 */
(function () {
  "use strict";
  const CFG = JSON.parse(document.getElementById("fa-config").textContent);
  const T = CFG.t;
  const state = {me: null, grid: null, bundle: null, pos: null, patrol: null, tapped: null,
                 flushing: false, layers: {}, map: null, tapMode: false};
  window.gmField = state;

  // --- small helpers ------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  function newId() {
    if (self.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
  }
  function distanceM(lon1, lat1, lon2, lat2) {
    const r = Math.PI / 180, p1 = lat1 * r, p2 = lat2 * r;
    const h = Math.sin((p2 - p1) / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin((lon2 - lon1) * r / 2) ** 2;
    return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
  }

  // --- the queue (IndexedDB) ------------------------------------------------------------
  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const req = indexedDB.open("gridmap-field", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("queue", {keyPath: "seq", autoIncrement: true});
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return dbPromise;
  }
  async function store(mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const tx = d.transaction("queue", mode);
      const result = fn(tx.objectStore("queue"));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  }
  const queueAll = () => store("readonly", (s) => s.getAll());
  async function enqueue(kind, payload, photos) {
    const item = {id: newId(), kind, payload, made_at: Date.now(), photos: photos || [],
                  state: "waiting", message: null};
    await store("readwrite", (s) => s.add(item));
    await showQueueCount();
    flush();
    return item;
  }
  async function showQueueCount() {
    const items = await queueAll();
    const btn = document.getElementById("fa-queue-btn");
    btn.textContent = String(items.length);
    btn.hidden = items.length === 0;
    btn.classList.toggle("conflict", items.some((i) => i.state === "conflict"));
    return items;
  }

  async function send(item) {
    const body = {id: item.id, kind: item.kind, payload: item.payload, made_at: item.made_at};
    const headers = {"X-CSRF-Token": state.me ? state.me.csrf : "", "Accept": "application/json"};
    let init;
    if (item.photos && item.photos.length) {
      const form = new FormData();
      form.append("submission", JSON.stringify(body));
      item.photos.forEach((p, i) => form.append("photo", p.blob, `photo${i + 1}.jpg`));
      init = {method: "POST", body: form, headers, credentials: "same-origin"};
    } else {
      headers["Content-Type"] = "application/json";
      init = {method: "POST", body: JSON.stringify(body), headers, credentials: "same-origin"};
    }
    return fetch(CFG.urls.submit, init);
  }

  /* Send what waits, oldest first, one at a time; stop at the first network failure. */
  async function flush() {
    if (state.flushing || !navigator.onLine) return;
    state.flushing = true;
    let sent = 0;
    try {
      if (!state.me || !state.me.csrf) await loadMe();
      for (const item of await queueAll()) {
        if (item.state !== "waiting") continue;
        let response;
        try { response = await send(item); } catch (err) { break; }
        if (response.status === 401) { setNet(T.login_again, true); break; }
        if (response.status === 400 && !(response.headers.get("content-type") || "").includes("json")) {
          await loadMe(); break;  // the session's CSRF token changed: fetched again, next flush retries
        }
        if (response.ok) {
          await store("readwrite", (s) => s.delete(item.seq));
          sent += 1;
        } else if (response.status >= 400 && response.status < 500) {
          let message = response.statusText;
          try { message = (await response.json()).message || message; } catch (e) { /* keep */ }
          item.state = "conflict"; item.message = message;
          await store("readwrite", (s) => s.put(item));
        } else break;
      }
    } finally {
      state.flushing = false;
      await showQueueCount();
      if (sent && state.grid) loadGrid(state.grid, {keepView: true});
      if (currentTab === "queue") showQueue();
    }
  }
  window.addEventListener("online", () => { setNet(); flush(); });
  window.addEventListener("offline", () => setNet());
  setInterval(flush, 30000);

  function setNet(text, bad) {
    const n = document.getElementById("fa-net");
    const off = bad || !navigator.onLine;
    n.textContent = text || (navigator.onLine ? "" : T.offline);
    n.classList.toggle("off", off);
  }

  // --- data from the server (cached by the service worker for offline use) ---------------
  async function loadMe() {
    const r = await fetch(CFG.urls.me, {credentials: "same-origin", headers: {"Accept": "application/json"}});
    if (r.status === 401) { window.location.href = CFG.urls.login; return null; }
    state.me = await r.json();
    return state.me;
  }
  async function loadGrid(code, opts) {
    const r = await fetch(CFG.urls.grid.replace("__CODE__", encodeURIComponent(code)),
                          {credentials: "same-origin", headers: {"Accept": "application/json"}});
    if (!r.ok) throw new Error("grid " + code + ": " + r.status);
    state.bundle = await r.json();
    state.grid = code;
    document.getElementById("fa-grid-name").textContent = state.bundle.grid.name;
    drawGrid(opts && opts.keepView);
    if (currentTab === "today") showToday();
    return state.bundle;
  }

  // --- the map ------------------------------------------------------------------------------
  function makeMap() {
    const map = L.map("fa-map", {zoomControl: true, attributionControl: false, tap: true});
    map.zoomControl.setPosition("topleft");
    state.map = map;
    map.on("click", (e) => {
      if (!state.tapMode) return;
      state.tapped = {lon: e.latlng.lng, lat: e.latlng.lat};
      if (state.layers.tap) map.removeLayer(state.layers.tap);
      state.layers.tap = L.circleMarker(e.latlng, {radius: 8, color: "#d73a49", weight: 3}).addTo(map);
      state.tapMode = false;
      const where = document.getElementById("fa-where");
      if (where) where.textContent = T.tapped + ` (${e.latlng.lat.toFixed(5)}, ${e.latlng.lng.toFixed(5)})`;
      document.getElementById("fa-sheet").hidden = false;
    });
    return map;
  }

  const STYLE = {
    grid: {color: "#1f6feb", weight: 3, fill: false},
    building: {color: "#6e7781", weight: 1, fillColor: "#afb8c1", fillOpacity: 0.6},
    road: {color: "#8c959f", weight: 2},
    patrolled: {color: "#2da44e", weight: 5, opacity: 0.8},
    track: {color: "#8250df", weight: 4},
  };

  function roadLabels(roads) {
    // one label per street name, on its longest piece (names are data: textContent only)
    const best = new Map();
    for (const f of roads.features) {
      const name = f.properties.name;
      if (!name || f.geometry.type !== "LineString") continue;
      const c = f.geometry.coordinates;
      let len = 0;
      for (let i = 1; i < c.length; i++) len += distanceM(c[i - 1][0], c[i - 1][1], c[i][0], c[i][1]);
      if (!best.has(name) || best.get(name).len < len) best.set(name, {len, c});
    }
    const group = L.layerGroup();
    for (const [name, {c}] of best) {
      const mid = c[Math.floor(c.length / 2)];
      const label = document.createElement("span");
      label.textContent = name;
      L.tooltip({permanent: true, direction: "center", className: "fa-road-label", interactive: false})
        .setLatLng([mid[1], mid[0]]).setContent(label).addTo(group);
    }
    return group;
  }

  function drawGrid(keepView) {
    const map = state.map, b = state.bundle;
    for (const name of ["grid", "buildings", "roads", "labels", "sites", "hazards", "patrolled"]) {
      if (state.layers[name]) map.removeLayer(state.layers[name]);
    }
    state.layers.roads = L.geoJSON(b.roads, {style: STYLE.road, interactive: false}).addTo(map);
    state.layers.buildings = L.geoJSON(b.buildings, {style: STYLE.building,
      onEachFeature: (f, layer) => layer.bindPopup(() => el("div", {text: f.properties.address || f.properties.code}))}).addTo(map);
    state.layers.patrolled = L.geoJSON(b.patrolled, {style: STYLE.patrolled, interactive: false}).addTo(map);
    state.layers.grid = L.geoJSON(b.boundary, {style: STYLE.grid, interactive: false}).addTo(map);
    state.layers.labels = roadLabels(b.roads);
    state.layers.sites = L.geoJSON(b.sites, {
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 7, weight: 2, color: "#fff",
        fillColor: f.properties.overdue ? "#d73a49" : "#0969da", fillOpacity: 1}),
      onEachFeature: (f, layer) => layer.on("click", () => siteSheet(f)),
    }).addTo(map);
    state.layers.hazards = L.geoJSON(b.hazards, {
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 7, weight: 2, color: "#1b1f24",
        fillColor: f.properties.overdue ? "#d73a49" : "#fb8500", fillOpacity: 1}),
      onEachFeature: (f, layer) => layer.on("click", () => hazardSheet(f)),
    }).addTo(map);
    const updateLabels = () => {
      if (map.getZoom() >= 16) state.layers.labels.addTo(map); else map.removeLayer(state.layers.labels);
    };
    map.off("zoomend", state._labels || (() => {}));
    state._labels = updateLabels;
    map.on("zoomend", updateLabels);
    if (!keepView) map.fitBounds(state.layers.grid.getBounds(), {padding: [6, 6]});
    updateLabels();
    window.gmReady = true;
  }

  // --- where am I ----------------------------------------------------------------------------
  function onPosition(p) {
    const c = p.coords;
    state.pos = {lon: c.longitude, lat: c.latitude, accuracy: c.accuracy, t: p.timestamp};
    const ll = [c.latitude, c.longitude];
    if (!state.layers.me) {
      state.layers.meCircle = L.circle(ll, {radius: c.accuracy, color: "#1f6feb", weight: 1, fillOpacity: 0.12, interactive: false}).addTo(state.map);
      state.layers.me = L.circleMarker(ll, {radius: 7, color: "#fff", weight: 2, fillColor: "#1f6feb", fillOpacity: 1}).addTo(state.map);
    } else {
      state.layers.me.setLatLng(ll);
      state.layers.meCircle.setLatLng(ll).setRadius(c.accuracy);
    }
    if (state.patrol) patrolFix(state.pos);
  }
  function watchPosition() {
    if (!navigator.geolocation) return;
    navigator.geolocation.watchPosition(onPosition, () => setNet(T.no_position, true),
                                        {enableHighAccuracy: true, maximumAge: 0, timeout: 30000});
  }

  // --- patrol ----------------------------------------------------------------------------------
  async function patrolFix(pos) {
    const pat = state.patrol, last = pat.last;
    if (last && (pos.t === last.t || distanceM(last.lon, last.lat, pos.lon, pos.lat) < 3)) return;
    pat.last = pos;
    pat.fixes += 1;
    pat.line.addLatLng([pos.lat, pos.lon]);
    document.getElementById("fa-patrol-info").textContent = `${T.patrolling} · ${pat.fixes} ${T.fixes}`;
    await enqueue("patrol_fix", {patrol: pat.id, grid: state.grid, t: pos.t, lon: pos.lon,
                                 lat: pos.lat, accuracy: pos.accuracy});
  }
  function startPatrol() {
    state.patrol = {id: newId(), fixes: 0, last: null,
                    line: L.polyline([], STYLE.track).addTo(state.map)};
    document.getElementById("fa-patrol-bar").hidden = false;
    document.getElementById("fa-patrol-info").textContent = `${T.patrolling} · 0 ${T.fixes}`;
    if (state.pos) patrolFix({...state.pos});
    showPatrol();
  }
  async function stopPatrol() {
    const pat = state.patrol;
    state.patrol = null;
    document.getElementById("fa-patrol-bar").hidden = true;
    await enqueue("patrol_stop", {patrol: pat.id});
    message(T.patrol_saved);
    showPatrol();
  }

  // --- photos: EXIF time/place read here, then resized (the canvas drops every EXIF tag) -------
  function readExif(buf) {
    const v = new DataView(buf);
    if (v.byteLength < 4 || v.getUint16(0) !== 0xFFD8) return {};
    let off = 2;
    while (off + 4 < v.byteLength) {
      const marker = v.getUint16(off), size = v.getUint16(off + 2);
      if (marker === 0xFFE1 && v.getUint32(off + 4) === 0x45786966) return parseTiff(v, off + 10);
      if ((marker & 0xFF00) !== 0xFF00) break;
      off += 2 + size;
    }
    return {};
  }
  function parseTiff(v, start) {
    const le = v.getUint16(start) === 0x4949;
    const u16 = (o) => v.getUint16(start + o, le), u32 = (o) => v.getUint32(start + o, le);
    const ifd = (o) => {
      const out = {}, n = u16(o);
      for (let i = 0; i < n; i++) {
        const e = o + 2 + i * 12, tag = u16(e), type = u16(e + 2), count = u32(e + 4);
        const vo = (type === 2 && count > 4) || (type === 5) ? u32(e + 8) : e + 8;
        if (type === 2) { let s = ""; for (let k = 0; k < count - 1; k++) s += String.fromCharCode(v.getUint8(start + vo + k)); out[tag] = s; }
        else if (type === 5) { out[tag] = []; for (let k = 0; k < count; k++) out[tag].push(u32(vo + 8 * k) / (u32(vo + 8 * k + 4) || 1)); }
        else if (type === 4) out[tag] = u32(e + 8);
        else if (type === 3) out[tag] = u16(e + 8);
      }
      return out;
    };
    try {
      const ifd0 = ifd(u32(4)), sub = ifd0[0x8769] ? ifd(ifd0[0x8769]) : {}, gps = ifd0[0x8825] ? ifd(ifd0[0x8825]) : {};
      const out = {};
      const when = sub[0x9003] || ifd0[0x0132];
      if (when) out.taken_at = when.replace(/^(\d{4}):(\d{2}):(\d{2}) /, "$1-$2-$3T");
      if (gps[2] && gps[4]) {
        const deg = (a) => a[0] + a[1] / 60 + a[2] / 3600;
        out.lat = deg(gps[2]) * (gps[1] === "S" ? -1 : 1);
        out.lon = deg(gps[4]) * (gps[3] === "W" ? -1 : 1);
      }
      return out;
    } catch (e) { return {}; }
  }
  async function preparePhoto(file) {
    const exif = readExif(await file.arrayBuffer());
    const bitmap = await createImageBitmap(file);
    const side = (state.me && state.me.photos.max_side_px) || 1600;
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    return {blob, exif};
  }
  function photoInput() {
    const thumbs = el("div", {class: "fa-thumbs"});
    const input = el("input", {type: "file", accept: "image/*", multiple: true, capture: "environment", id: "fa-photos"});
    input.addEventListener("change", () => {
      thumbs.replaceChildren(...Array.from(input.files).slice(0, 5).map((f) => el("img", {src: URL.createObjectURL(f), alt: ""})));
    });
    return {input, thumbs, async prepared() {
      const files = Array.from(input.files).slice(0, (state.me && state.me.photos.per_item) || 5);
      return Promise.all(files.map(preparePhoto));
    }};
  }

  // --- the sheet: today, patrol, report, queue, and the forms -----------------------------------
  let currentTab = null;
  function sheet(...children) {
    const body = document.getElementById("fa-sheet-body");
    body.replaceChildren(...children);
    document.getElementById("fa-sheet").hidden = false;
  }
  function closeSheet() {
    document.getElementById("fa-sheet").hidden = true;
    currentTab = null;
    document.querySelectorAll(".fa-tabs button").forEach((b) => b.classList.remove("active"));
  }
  function message(text, error) {
    const body = document.getElementById("fa-sheet-body");
    const box = el("div", {class: "fa-msg" + (error ? " error" : ""), role: "status", id: "fa-message", text});
    const old = document.getElementById("fa-message");
    if (old) old.replaceWith(box); else body.prepend(box);
    document.getElementById("fa-sheet").hidden = false;
  }
  function select(id, options, value) {
    const s = el("select", {id});
    for (const o of options) s.append(el("option", {value: o.code, selected: o.code === value, text: o.label}));
    return s;
  }
  function flyTo(at) { if (at) state.map.setView([at[1], at[0]], Math.max(state.map.getZoom(), 17)); }

  function showToday() {
    const b = state.bundle;
    if (!b) return;
    const list = el("ul", {class: "fa-list", id: "fa-today"});
    for (const item of b.todo) {
      const open = () => {
        flyTo(item.at);
        if (item.kind === "inspection_overdue") {
          const f = b.sites.features.find((x) => x.properties.code === item.code);
          if (f) siteSheet(f);
        } else if (item.kind.startsWith("hazard")) {
          const f = b.hazards.features.find((x) => x.properties.code === item.code);
          if (f) hazardSheet(f);
        } else if (item.kind === "visit") visitSheet(item.code);
        else if (item.kind === "unpatrolled") showPatrol();
      };
      list.append(el("li", {class: `fa-card p${item.priority}`, "data-kind": item.kind},
        el("div", {text: item.text}),
        item.at || item.kind === "visit" ? el("div", {class: "fa-row"}, el("button", {type: "button", class: "fa-btn secondary", onclick: open, text: T.open})) : null));
    }
    if (!b.todo.length) list.append(el("li", {class: "fa-card", text: T.nothing_today}));
    sheet(el("h2", {text: `${T.today} · ${b.grid.name}`}), list);
  }

  function siteSheet(f) {
    const p = f.properties;
    const result = select("fa-result", state.me.results, "ok");
    const notes = el("textarea", {id: "fa-notes", rows: 2});
    const photos = photoInput();
    const go = async () => {
      if (!state.pos) { message(T.no_position, true); return; }
      const [lon, lat] = f.geometry.coordinates;
      const d = distanceM(state.pos.lon, state.pos.lat, lon, lat);
      if (d > p.radius_m) { message(fmt(T.too_far, {d: Math.round(d), r: Math.round(p.radius_m)}), true); return; }
      const prepared = await photos.prepared();
      await enqueue("inspection", {site: p.code, result: result.value, notes: notes.value,
        lon: state.pos.lon, lat: state.pos.lat, accuracy: state.pos.accuracy,
        photo_exif: prepared.map((x) => x.exif)}, prepared.map((x) => ({blob: x.blob})));
      message(navigator.onLine ? T.sent : T.saved_queued);
    };
    sheet(el("h2", {text: p.name}), el("div", {text: [p.category_label, p.address].filter(Boolean).join(" · ")}),
      el("label", {for: "fa-result", text: T.result}), result,
      el("label", {for: "fa-notes", text: T.notes}), notes,
      el("label", {for: "fa-photos", text: T.photos}), photos.input, photos.thumbs,
      el("div", {class: "fa-row"}, el("button", {type: "button", class: "fa-btn go", id: "fa-checkin", onclick: go, text: T.checkin})));
  }

  function hazardSheet(f) {
    const p = f.properties;
    const actions = (p.actions || []).map((a) => ({code: a, label: state.me.actions[a] || a}));
    const parts = [el("h2", {text: `${p.code} · ${p.category_label}`}),
                   el("div", {text: `${p.status_label}${p.deadline ? " · " + p.deadline.slice(0, 10) : ""}`}),
                   el("p", {text: p.description || ""})];
    if (actions.length) {
      const action = select("fa-action", actions, actions[0].code);
      const note = el("textarea", {id: "fa-note", rows: 2});
      const photos = photoInput();
      const go = async () => {
        const prepared = await photos.prepared();
        await enqueue("hazard_act", {code: p.code, action: action.value, note: note.value,
          photo_exif: prepared.map((x) => x.exif)}, prepared.map((x) => ({blob: x.blob})));
        message(navigator.onLine ? T.sent : T.saved_queued);
      };
      parts.push(el("label", {for: "fa-action", text: T.action}), action,
                 el("label", {for: "fa-note", text: T.note}), note,
                 el("label", {for: "fa-photos", text: T.photos}), photos.input, photos.thumbs,
                 el("div", {class: "fa-row"}, el("button", {type: "button", class: "fa-btn", id: "fa-act", onclick: go, text: T.send})));
    }
    sheet(...parts);
  }

  function visitSheet(code) {
    const h = state.bundle.visits.find((x) => x.code === code) || {code};
    const kind = select("fa-visit-kind", [{code: "visit", label: T.kind_visit}, {code: "call", label: T.kind_call}], "visit");
    const notes = el("textarea", {id: "fa-visit-notes", rows: 2});
    const phones = el("div", {id: "fa-phones"});
    const reason = select("fa-reason", state.me.reasons, state.me.reasons[0].code);
    const reveal = async () => {
      const r = await fetch(CFG.urls.reveal, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": state.me.csrf},
        body: JSON.stringify({household: code, reason: reason.value})});
      const data = await r.json();
      if (!r.ok) { message(data.message, true); return; }
      phones.replaceChildren(...data.people.map((p) => el("div", {}, el("span", {text: p.name + " "}), el("a", {href: "tel:" + p.phone, text: p.phone}))));
    };
    const go = async () => {
      await enqueue("visit", {household: code, kind: kind.value, notes: notes.value});
      message(navigator.onLine ? T.sent : T.saved_queued);
    };
    sheet(el("h2", {text: h.address || code}),
      el("div", {text: [h.head, h.phone, (h.tags || []).join("、")].filter(Boolean).join(" · ")}),
      el("label", {for: "fa-reason", text: T.reason}), reason,
      el("div", {class: "fa-row"}, el("button", {type: "button", class: "fa-btn secondary", id: "fa-reveal", onclick: reveal, text: T.reveal})), phones,
      el("label", {for: "fa-visit-kind", text: T.visit}), kind,
      el("label", {for: "fa-visit-notes", text: T.notes}), notes,
      el("div", {class: "fa-row"}, el("button", {type: "button", class: "fa-btn go", id: "fa-visit-save", onclick: go, text: T.send})));
  }

  function showPatrol() {
    const on = !!state.patrol;
    const cov = state.bundle && state.bundle.coverage;
    sheet(el("h2", {text: on ? T.patrolling : T.start_patrol}),
      state.pos ? el("div", {text: `${T.accuracy} ${Math.round(state.pos.accuracy)} m`}) : el("div", {text: T.no_position}),
      cov && cov.street_pct !== null ? el("div", {text: `${T.l_patrolled}: ${cov.street_pct}%`}) : null,
      el("div", {class: "fa-row"}, on
        ? el("button", {type: "button", class: "fa-btn danger", id: "fa-patrol-stop", onclick: stopPatrol, text: T.stop_patrol})
        : el("button", {type: "button", class: "fa-btn go", id: "fa-patrol-start", onclick: startPatrol, text: T.start_patrol})));
  }

  function showReport() {
    const category = select("fa-category", state.me.categories, state.me.categories[0].code);
    const severity = select("fa-severity", state.me.severities, "medium");
    const desc = el("textarea", {id: "fa-description", rows: 3});
    const photos = photoInput();
    const where = el("div", {id: "fa-where", class: "fa-msg", text: T.need_place});
    state.tapped = null;
    const useMine = () => {
      if (!state.pos) { message(T.no_position, true); return; }
      state.tapped = {lon: state.pos.lon, lat: state.pos.lat};
      where.textContent = `${T.use_my_location} (±${Math.round(state.pos.accuracy)} m)`;
    };
    const tap = () => { state.tapMode = true; document.getElementById("fa-sheet").hidden = true; };
    const go = async () => {
      if (!state.tapped) { message(T.need_place, true); return; }
      if (!photos.input.files.length || photos.input.files.length > 5) { message(T.need_photo, true); return; }
      const prepared = await photos.prepared();
      await enqueue("hazard_report", {lon: state.tapped.lon, lat: state.tapped.lat,
        category: category.value, severity: severity.value, description: desc.value,
        photo_exif: prepared.map((x) => x.exif)}, prepared.map((x) => ({blob: x.blob})));
      message(navigator.onLine ? T.sent : T.saved_queued);
    };
    sheet(el("h2", {text: T.report_hazard}), where,
      el("div", {class: "fa-row"},
        el("button", {type: "button", class: "fa-btn secondary", id: "fa-use-location", onclick: useMine, text: T.use_my_location}),
        el("button", {type: "button", class: "fa-btn secondary", id: "fa-tap-map", onclick: tap, text: T.tap_map})),
      el("label", {for: "fa-category", text: T.category}), category,
      el("label", {for: "fa-severity", text: T.severity}), severity,
      el("label", {for: "fa-description", text: T.description}), desc,
      el("label", {for: "fa-photos", text: T.photos}), photos.input, photos.thumbs,
      el("div", {class: "fa-row"}, el("button", {type: "button", class: "fa-btn", id: "fa-report-send", onclick: go, text: T.send})));
  }

  async function showQueue() {
    const items = await queueAll();
    const list = el("ul", {class: "fa-list", id: "fa-queue"});
    for (const item of items) {
      const discard = async () => { await store("readwrite", (s) => s.delete(item.seq)); showQueue(); showQueueCount(); };
      list.append(el("li", {class: "fa-card" + (item.state === "conflict" ? " conflict" : ""), "data-state": item.state},
        el("div", {text: `${new Date(item.made_at).toLocaleString(document.documentElement.lang)} · ${T.kinds[item.kind] || item.kind}${item.photos.length ? " · " + item.photos.length + " 📷" : ""}`}),
        item.state === "conflict" ? el("div", {text: `${T.conflict}: ${item.message || ""}`}) : null,
        item.state === "conflict" ? el("div", {class: "fa-row"}, el("button", {type: "button", class: "fa-btn secondary", onclick: discard, text: T.discard})) : null));
    }
    if (!items.length) list.append(el("li", {class: "fa-card", text: T.nothing_waiting}));
    sheet(el("h2", {text: T.waiting}), list,
      el("div", {class: "fa-row"}, el("button", {type: "button", class: "fa-btn secondary", onclick: flush, text: T.retry})));
  }

  function showLayers() {
    const rows = [["grid", T.l_grid, "#1f6feb"], ["buildings", T.l_buildings, "#afb8c1"],
                  ["roads", T.l_roads, "#8c959f"], ["sites", T.l_sites, "#0969da"],
                  ["hazards", T.l_hazards, "#fb8500"], ["patrolled", T.l_patrolled, "#2da44e"]];
    const list = el("div", {id: "fa-layer-list"});
    for (const [name, label, colour] of rows) {
      const box = el("input", {type: "checkbox", id: "fa-layer-" + name, checked: state.map.hasLayer(state.layers[name])});
      box.addEventListener("change", () => { if (box.checked) state.layers[name].addTo(state.map); else state.map.removeLayer(state.layers[name]); });
      list.append(el("label", {class: "fa-legend", for: "fa-layer-" + name}, box,
        el("span", {class: "fa-swatch", style: `background:${colour}`}), el("span", {text: label})));
    }
    list.append(el("div", {class: "fa-legend"}, el("span", {class: "fa-swatch", style: "background:#d73a49"}), el("span", {text: T.l_overdue})));
    list.append(el("div", {class: "fa-legend"}, el("span", {class: "fa-swatch", style: "background:#8250df"}), el("span", {text: T.l_track})));
    sheet(el("h2", {text: T.layers}), list,
      state.grid ? el("p", {}, el("a", {href: CFG.urls.desk_grid.replace("__CODE__", encodeURIComponent(state.grid)), text: T.desk})) : null);
  }

  function chooseGrid(grids) {
    const list = el("ul", {class: "fa-list", id: "fa-grid-choice"});
    for (const g of grids) {
      list.append(el("li", {class: "fa-card"}, el("button", {type: "button", class: "fa-btn secondary", "data-grid": g.code,
        onclick: async () => { localStorage.setItem("gridmap.field.grid", g.code); closeSheet(); await loadGrid(g.code); },
        text: `${g.name} (${g.code})`})));
    }
    sheet(el("h2", {text: T.choose_grid}), list);
  }

  const TABS = {today: showToday, patrol: showPatrol, report: showReport, queue: showQueue};
  function openTab(name) {
    if (currentTab === name) { closeSheet(); return; }
    currentTab = name;
    document.querySelectorAll(".fa-tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
    TABS[name]();
  }

  // --- start ---------------------------------------------------------------------------------------
  async function start() {
    document.querySelectorAll(".fa-tabs button").forEach((b) => b.addEventListener("click", () => openTab(b.dataset.tab)));
    document.getElementById("fa-sheet-close").addEventListener("click", closeSheet);
    document.getElementById("fa-layers-btn").addEventListener("click", () => { currentTab = null; showLayers(); });
    document.getElementById("fa-queue-btn").addEventListener("click", () => openTab("queue"));
    document.getElementById("fa-locate").addEventListener("click", () => {
      if (state.pos) state.map.setView([state.pos.lat, state.pos.lon], Math.max(state.map.getZoom(), 17));
    });
    document.getElementById("fa-grid-name").addEventListener("click", () => state.me && chooseGrid(state.me.grids));
    setNet();
    makeMap();
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(CFG.urls.sw, {scope: CFG.urls.scope}).catch(() => {});
    }
    const me = await loadMe();
    if (!me) return;
    const params = new URLSearchParams(location.search);
    const mine = me.grids.filter((g) => g.mine);
    const saved = params.get("grid") || localStorage.getItem("gridmap.field.grid");
    const candidates = mine.length ? mine : me.grids;
    let code = null;
    if (saved && me.grids.some((g) => g.code === saved)) code = saved;
    else if (candidates.length === 1) code = candidates[0].code;
    watchPosition();
    showQueueCount();
    if (code) { localStorage.setItem("gridmap.field.grid", code); await loadGrid(code); }
    else chooseGrid(candidates);
    flush();
  }
  start();
})();
