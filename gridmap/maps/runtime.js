/* gridmap map runtime: measure control, legends, layers loaded from JSON endpoints by
 * bbox and zoom, building vector tiles, click-to-place, and a "ready" signal.
 * Inlined once per page by gridmap.maps.standard.Runtime; strings come in GM_STRINGS. */
(function () {
  if (window.GM) { return; }
  var GM = window.GM = {};
  var S = function (key) { return (window.GM_STRINGS || {})[key] || key; };
  var pending = 0, created = 0, readyTimer = null;

  // --- ready signal: the map exists and every dynamic layer has drawn its first data ---
  function checkReady() {
    if (readyTimer) { clearTimeout(readyTimer); }
    readyTimer = setTimeout(function () {
      if (pending === 0 && created > 0 && !window.gmReady) {
        window.gmReady = true;
        window.gmReadyAt = performance.now();
        document.dispatchEvent(new Event('gridmap:ready'));
      }
    }, 0);
  }
  GM.begin = function () { pending += 1; };
  GM.end = function () { pending = Math.max(0, pending - 1); checkReady(); };
  // layer requests in flight: 0 once every dynamic layer has drawn its current view
  GM.pending = function () { return pending; };
  GM.maps = [];
  GM.mapCreated = function (map) {
    created += 1; GM.maps.push(map);
    // Leaflet's own button titles, in the page's language
    var box = map.getContainer();
    [['.leaflet-control-zoom-in', 'zoom_in'], ['.leaflet-control-zoom-out', 'zoom_out']].forEach(function (b) {
      var el = box.querySelector(b[0]);
      if (el) { el.title = S(b[1]); el.setAttribute('aria-label', S(b[1])); }
    });
    checkReady();
  };

  // --- formatting and geodesy ---
  GM.fmtLength = function (m) {
    return m < 1000 ? m.toFixed(0) + ' m' : (m / 1000).toFixed(m < 10000 ? 2 : 1) + ' km';
  };
  GM.fmtArea = function (a) {
    if (a < 10000) { return a.toFixed(0) + ' m²'; }
    if (a < 1e6) { return (a / 10000).toFixed(2) + ' ha'; }
    return (a / 1e6).toFixed(2) + ' km²';
  };
  GM.pathLength = function (latlngs) {
    var d = 0;
    for (var i = 1; i < latlngs.length; i++) { d += latlngs[i - 1].distanceTo(latlngs[i]); }
    return d;
  };
  // Area of a simple polygon on the sphere (same radius as Leaflet's distanceTo).
  GM.geodesicArea = function (latlngs) {
    var R = 6371000, rad = Math.PI / 180, area = 0, n = latlngs.length;
    if (n < 3) { return 0; }
    for (var i = 0; i < n; i++) {
      var p1 = latlngs[i], p2 = latlngs[(i + 1) % n];
      area += (p2.lng - p1.lng) * rad * (2 + Math.sin(p1.lat * rad) + Math.sin(p2.lat * rad));
    }
    return Math.abs(area * R * R / 2);
  };
  function esc(s) {
    return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  GM.esc = esc;
  // layers that take a click before the features under them (vector-tile buildings)
  GM.claims = [];
  GM.claimed = function (latlng) { return GM.claims.some(function (c) { return c(latlng); }); };

  // --- measure control ---
  GM.MeasureControl = function (options) {
    var Ctl = L.Control.extend({
      options: {position: 'topleft'},
      onAdd: function (map) {
        var self = this;
        this._map = map;
        var box = L.DomUtil.create('div', 'leaflet-bar gm-measure');
        var btn = L.DomUtil.create('a', 'gm-measure-toggle', box);
        btn.href = '#'; btn.title = S('measure'); btn.setAttribute('role', 'button');
        btn.innerHTML = '<svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true">' +
          '<path d="M2 13 L13 2 L16 5 L5 16 Z M5 10 l2 2 M7 8 l1 1 M9 6 l2 2 M11 4 l1 1" ' +
          'fill="none" stroke="#333" stroke-width="1.4"/></svg>';
        this._panel = L.DomUtil.create('div', 'gm-measure-panel', box);
        this._panel.hidden = true;
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.on(btn, 'click', function (e) { L.DomEvent.preventDefault(e); self.toggle(); });
        return box;
      },
      toggle: function () { if (this._on) { this.stop(); } else { this.start(); } },
      start: function () {
        var map = this._map, self = this;
        this._on = true; this._points = [];
        this._layer = L.layerGroup().addTo(map);
        map.getContainer().classList.add('gm-measuring');
        map.doubleClickZoom.disable();
        // 'preclick' reaches the map also when a feature with a popup takes the click
        this._click = function (e) { self._points.push(e.latlng); self._draw(); };
        this._dbl = function () { self.finish(); };
        this._nopopup = function () { map.closePopup(); };
        map.on('preclick', this._click); map.on('dblclick', this._dbl);
        map.on('popupopen', this._nopopup);
        this._panel.hidden = false;
        this._draw();
      },
      finish: function () {
        var map = this._map;
        map.off('preclick', this._click); map.off('dblclick', this._dbl);
        map.off('popupopen', this._nopopup);
        map.getContainer().classList.remove('gm-measuring');
        setTimeout(function () { map.doubleClickZoom.enable(); }, 0);
        this._done = true; this._draw();
      },
      stop: function () {
        if (!this._done) { this.finish(); }
        if (this._layer) { this._map.removeLayer(this._layer); }
        this._on = false; this._done = false; this._panel.hidden = true;
      },
      _draw: function () {
        var pts = this._points, self = this;
        this._layer.clearLayers();
        pts.forEach(function (p) {
          L.circleMarker(p, {radius: 3, color: '#d7191c', interactive: false}).addTo(self._layer);
        });
        if (pts.length > 1) {
          L.polyline(pts, {color: '#d7191c', weight: 2, dashArray: '5 4', interactive: false})
            .addTo(this._layer);
        }
        if (pts.length > 2) {
          L.polygon(pts, {color: '#d7191c', weight: 0, fillOpacity: 0.1, interactive: false})
            .addTo(this._layer);
        }
        var html = '<div class="gm-measure-hint">' + esc(S('measure_hint')) + '</div>';
        var dist = GM.pathLength(pts);
        html += '<div>' + esc(S('distance')) + ': <b class="gm-measure-distance" data-m="' +
          dist.toFixed(1) + '">' + GM.fmtLength(dist) + '</b></div>';
        if (pts.length > 2) {
          var area = GM.geodesicArea(pts);
          html += '<div>' + esc(S('area')) + ': <b class="gm-measure-area" data-m2="' +
            area.toFixed(0) + '">' + GM.fmtArea(area) + '</b></div>';
        }
        html += '<div class="gm-measure-actions">' + (this._done ? '' :
          '<a href="#" class="gm-measure-finish">' + esc(S('finish')) + '</a> ') +
          '<a href="#" class="gm-measure-clear">' + esc(S('clear')) + '</a></div>';
        this._panel.innerHTML = html;
        var fin = this._panel.querySelector('.gm-measure-finish');
        if (fin) { L.DomEvent.on(fin, 'click', function (e) { L.DomEvent.stop(e); self.finish(); }); }
        L.DomEvent.on(this._panel.querySelector('.gm-measure-clear'), 'click', function (e) {
          L.DomEvent.stop(e); self.stop();
        });
      }
    });
    return new Ctl(options);
  };

  // --- categorical legend ---
  GM.Legend = function (options) {
    var Ctl = L.Control.extend({
      options: {position: 'bottomright'},
      onAdd: function () {
        var div = L.DomUtil.create('div', 'gm-legend');
        var html = options.title ? '<div class="gm-legend-title">' + esc(options.title) + '</div>' : '';
        (options.items || []).forEach(function (it) {
          html += '<div class="gm-legend-item"><i class="gm-swatch gm-' + esc(it[2] || 'box') +
            '" style="--c:' + esc(it[0]) + '"></i>' + esc(it[1]) + '</div>';
        });
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        return div;
      }
    });
    return new Ctl(options);
  };

  // --- styles from a JSON spec: {"fillColor": {"property": p, "stops": [[v, c], ...]}},
  // {"color": {"property": p, "map": {...}}} or {"radius": {"property": p}} ---
  function hexToRgb(h) {
    var n = parseInt(h.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  function ramp(stops, v) {
    if (v === null || v === undefined || isNaN(v)) { return stops.length ? '#cccccc' : null; }
    if (v <= stops[0][0]) { return stops[0][1]; }
    for (var i = 1; i < stops.length; i++) {
      if (v <= stops[i][0]) {
        var a = stops[i - 1], b = stops[i], t = (v - a[0]) / ((b[0] - a[0]) || 1);
        var ca = hexToRgb(a[1]), cb = hexToRgb(b[1]);
        return 'rgb(' + [0, 1, 2].map(function (k) { return Math.round(ca[k] + t * (cb[k] - ca[k])); }).join(',') + ')';
      }
    }
    return stops[stops.length - 1][1];
  }
  GM.styleFor = function (spec, props) {
    var out = {};
    Object.keys(spec || {}).forEach(function (k) {
      var v = spec[k];
      if (v && typeof v === 'object' && v.property) {
        if (v.stops) { out[k] = ramp(v.stops, props[v.property]); }
        else if (v.map) { out[k] = v.map[props[v.property]] || v['default']; }
        else { out[k] = props[v.property]; }  // the value itself (a marker's radius)
      } else { out[k] = v; }
    });
    return out;
  };
  function popupHtml(popup, props) {
    var rows = popup.fields.map(function (f, i) {
      var v = props[f];
      if (v === null || v === undefined || v === '') { return ''; }
      return '<tr><th>' + esc(popup.labels[i]) + '</th><td>' + esc(v) + '</td></tr>';
    }).join('');
    var link = popup.link && props[popup.link.field] ?
      '<div class="gm-popup-link"><a href="' + esc(popup.link.href.replace('__ID__', encodeURIComponent(props[popup.link.field]))) +
      '">' + esc(popup.link.label) + '</a></div>' : '';
    return '<table class="gm-popup">' + rows + '</table>' + link;
  }
  GM.popupHtml = popupHtml;

  function withParams(url, params) {
    var q = Object.keys(params).filter(function (k) { return params[k] !== null && params[k] !== undefined && params[k] !== ''; })
      .map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]); }).join('&');
    return url + (url.indexOf('?') >= 0 ? '&' : '?') + q;
  }
  GM.withParams = withParams;

  // --- a GeoJSON layer fetched from an endpoint by bbox and zoom ---
  // opts: url, params, display, style, pointStyle, popup, tooltip, label, minZoom, once
  GM.geojsonLayer = function (map, opts) {
    var layer = L.geoJson(null, {
      style: function (f) { return GM.styleFor(opts.style, f.properties); },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, GM.styleFor(opts.pointStyle || opts.style, f.properties));
      },
      onEachFeature: function (f, l) {
        if (opts.popup) {
          l.bindPopup(function () { return popupHtml(opts.popup, f.properties); }, {maxWidth: 360});
          // a building drawn from vector tiles above this feature takes the click instead
          l.off('click', l._openPopup, l);
          l.on('click', function (e) { if (!GM.claimed(e.latlng)) { l._openPopup(e); } });
        }
        if (opts.tooltip) { l.bindTooltip(esc(f.properties[opts.tooltip]), {sticky: true}); }
        // an area's name written on the map, at its centre (districts, streets)
        if (opts.label) {
          l.bindTooltip(esc(f.properties[opts.label]), {permanent: true, direction: 'center',
                                                         className: 'gm-area-label'});
        }
      }
    });
    var loaded = null, loadedZoom = null, ctrl = null, first = true;
    layer.gmLoaded = 0;
    function load() {
      if (!map.hasLayer(layer)) { return; }
      var z = map.getZoom();
      if (opts.minZoom && z < opts.minZoom) { layer.clearLayers(); loaded = null; return; }
      var view = map.getBounds();
      if (loaded && (opts.once || (loaded.contains(view) && loadedZoom === z))) { return; }
      var want = opts.once && opts.bbox ? L.latLngBounds([[opts.bbox[1], opts.bbox[0]], [opts.bbox[3], opts.bbox[2]]]) : view.pad(0.5);
      if (ctrl) { ctrl.abort(); } else { GM.begin(); }
      ctrl = new AbortController();
      // A world view (an empty database) reaches past +-180/90: ask for the world itself.
      var bbox = [Math.max(want.getWest(), -180), Math.max(want.getSouth(), -90),
                  Math.min(want.getEast(), 180), Math.min(want.getNorth(), 90)].map(function (v) { return v.toFixed(6); }).join(',');
      var params = Object.assign({bbox: bbox, zoom: z, display: opts.display}, opts.params || {});
      fetch(withParams(opts.url, params), {signal: ctrl.signal, credentials: 'same-origin',
                                          headers: {'Accept': 'application/json'}})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (data) {
          layer.clearLayers(); layer.addData(data);
          layer.gmLoaded = (data.features || []).length;
          loaded = want; loadedZoom = z; ctrl = null; first = false;
          layer.fire('gm:loaded', {count: layer.gmLoaded});
          GM.end();
        })
        .catch(function (err) {
          if (err && err.name === 'AbortError') { return; }
          ctrl = null; GM.end();
          console.warn(S('load_failed'), opts.url, err);
        });
    }
    map.on('moveend', load);
    layer.on('add', function () { setTimeout(load, 0); });
    layer.gmReload = function () { loaded = null; load(); };
    return layer;
  };

  // --- building vector tiles (MVT), decoded and drawn on canvas here ---
  // A small Mapbox Vector Tile reader (protobuf: Tile.layers=3; Layer name=1, features=2,
  // keys=3, values=4, extent=5; Feature id=1, tags=2, type=3, geometry=4) and a canvas
  // GridLayer: far lighter than one Leaflet object per building, which is what keeps a
  // street of 50,000 buildings interactive.
  function Reader(buf) { this.b = buf; this.p = 0; }
  Reader.prototype.varint = function () {
    var b = this.b, r = 0, s = 1, c;
    do { c = b[this.p++]; r += (c & 0x7f) * s; s *= 128; } while (c >= 0x80);
    return r;
  };
  Reader.prototype.skip = function (wire) {
    if (wire === 0) { this.varint(); } else if (wire === 1) { this.p += 8; }
    else if (wire === 2) { this.p += this.varint(); } else if (wire === 5) { this.p += 4; }
  };
  var utf8 = new TextDecoder('utf-8');
  function readValue(r, end) {
    var v = null;
    while (r.p < end) {
      var key = r.varint(), f = key >> 3, w = key & 7;
      if (f === 1) { var n = r.varint(); v = utf8.decode(r.b.subarray(r.p, r.p + n)); r.p += n; }
      else if (f === 2) { v = new DataView(r.b.buffer, r.b.byteOffset + r.p, 4).getFloat32(0, true); r.p += 4; }
      else if (f === 3) { v = new DataView(r.b.buffer, r.b.byteOffset + r.p, 8).getFloat64(0, true); r.p += 8; }
      else if (f === 4 || f === 5) { v = r.varint(); }
      else if (f === 6) { var z = r.varint(); v = (z % 2) ? -(z + 1) / 2 : z / 2; }
      else if (f === 7) { v = !!r.varint(); }
      else { r.skip(w); }
    }
    return v;
  }
  function zz(n) { return (n % 2) ? -(n + 1) / 2 : n / 2; }
  GM.decodeTile = function (buf) {
    var r = new Reader(new Uint8Array(buf)), layers = {};
    while (r.p < r.b.length) {
      var key = r.varint();
      if ((key >> 3) !== 3) { r.skip(key & 7); continue; }
      var end = r.varint() + r.p, layer = {name: '', extent: 4096, keys: [], values: [], raw: []};
      while (r.p < end) {
        var k = r.varint(), f = k >> 3;
        if (f === 1) { var n = r.varint(); layer.name = utf8.decode(r.b.subarray(r.p, r.p + n)); r.p += n; }
        else if (f === 2) { var len = r.varint(); layer.raw.push([r.p, r.p + len]); r.p += len; }
        else if (f === 3) { var m = r.varint(); layer.keys.push(utf8.decode(r.b.subarray(r.p, r.p + m))); r.p += m; }
        else if (f === 4) { var vl = r.varint(); layer.values.push(readValue(r, r.p + vl)); }
        else if (f === 5) { layer.extent = r.varint(); }
        else { r.skip(k & 7); }
      }
      layer.features = layer.raw.map(function (se) {
        var fr = new Reader(r.b); fr.p = se[0];
        var feat = {id: null, props: {}, type: 0, rings: []}, tags = [], geom = [];
        while (fr.p < se[1]) {
          var fk = fr.varint(), ff = fk >> 3;
          if (ff === 1) { feat.id = fr.varint(); }
          else if (ff === 2 || ff === 4) {
            var e2 = fr.varint() + fr.p, out = ff === 2 ? tags : geom;
            while (fr.p < e2) { out.push(fr.varint()); }
          }
          else if (ff === 3) { feat.type = fr.varint(); }
          else { fr.skip(fk & 7); }
        }
        for (var t = 0; t < tags.length; t += 2) { feat.props[layer.keys[tags[t]]] = layer.values[tags[t + 1]]; }
        var x = 0, y = 0, i = 0, ring = null;
        while (i < geom.length) {
          var cmd = geom[i] & 7, cnt = geom[i] >> 3; i++;
          if (cmd === 1 || cmd === 2) {
            for (var c = 0; c < cnt; c++) {
              x += zz(geom[i]); y += zz(geom[i + 1]); i += 2;
              if (cmd === 1) { ring = [x, y]; feat.rings.push(ring); } else { ring.push(x, y); }
            }
          }
        }
        return feat;
      });
      delete layer.raw;
      layers[layer.name] = layer;
    }
    return layers;
  };
  function inRing(px, py, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 2; i < ring.length; j = i, i += 2) {
      var xi = ring[i], yi = ring[i + 1], xj = ring[j], yj = ring[j + 1];
      if (((yi > py) !== (yj > py)) && (px < (xj - xi) * (py - yi) / (yj - yi) + xi)) { inside = !inside; }
    }
    return inside;
  }
  GM.vectorLayer = function (map, opts) {
    var url = withParams(opts.url, {display: opts.display});
    var tiles = {};
    var Layer = L.GridLayer.extend({
      createTile: function (coords, done) {
        var canvas = L.DomUtil.create('canvas', 'leaflet-tile');
        var size = this.getTileSize(), ratio = window.devicePixelRatio || 1;
        canvas.width = size.x * ratio; canvas.height = size.y * ratio;
        // 512-px tiles: one vector tile of zoom z-1 fills them (a quarter of the requests)
        var tc = {z: coords.z - 1, x: coords.x, y: coords.y};
        var key = tc.z + '/' + tc.x + '/' + tc.y;
        fetch(L.Util.template(url, tc), {credentials: 'same-origin'})
          .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.arrayBuffer(); })
          .then(function (buf) {
            var layer = GM.decodeTile(buf)[opts.layerName];
            tiles[key] = layer;
            if (layer) { draw(canvas, layer, size, ratio); }
            done(null, canvas);
          })
          .catch(function (err) { done(err, canvas); });
        return canvas;
      }
    });
    function draw(canvas, layer, size, ratio) {
      var ctx = canvas.getContext('2d'), k = size.x * ratio / layer.extent;
      var buckets = {};
      layer.features.forEach(function (f) {
        var st = GM.styleFor(opts.style, f.props), b = st.fillColor + '|' + st.color;
        (buckets[b] = buckets[b] || {style: st, feats: []}).feats.push(f);
      });
      Object.keys(buckets).forEach(function (b) {
        var st = buckets[b].style;
        ctx.beginPath();
        buckets[b].feats.forEach(function (f) {
          f.rings.forEach(function (ring) {
            ctx.moveTo(ring[0] * k, ring[1] * k);
            for (var i = 2; i < ring.length; i += 2) { ctx.lineTo(ring[i] * k, ring[i + 1] * k); }
            // back to the start by hand: closePath() on a path of thousands of rings is slow
            ctx.lineTo(ring[0] * k, ring[1] * k);
          });
        });
        ctx.globalAlpha = st.fillOpacity === undefined ? 0.8 : st.fillOpacity;
        ctx.fillStyle = st.fillColor || '#999'; ctx.fill('evenodd');
        ctx.globalAlpha = 1; ctx.lineWidth = (st.weight || 0.5) * ratio;
        ctx.strokeStyle = st.color || '#444'; ctx.stroke();
      });
    }
    var layer = new Layer({minZoom: opts.minZoom || 0, maxNativeZoom: (opts.maxNativeZoom || 18) + 1,
                           maxZoom: 22, tileSize: 512, className: 'gm-vector-tiles'});
    var loading = false;
    layer.on('loading', function () { if (!loading) { loading = true; GM.begin(); } });
    layer.on('load', function () { if (loading) { loading = false; GM.end(); } });
    layer.on('tileunload', function (e) {
      delete tiles[(e.coords.z - 1) + '/' + e.coords.x + '/' + e.coords.y];
    });
    // which building was clicked: look it up in the tile under the click
    layer.featureAt = function (latlng) {
      var z = Math.min(Math.round(map.getZoom()), (opts.maxNativeZoom || 18) + 1), size = layer.getTileSize();
      var p = map.project(latlng, z), tx = Math.floor(p.x / size.x), ty = Math.floor(p.y / size.y);
      var t = tiles[(z - 1) + '/' + tx + '/' + ty];
      if (!t) { return null; }
      var px = (p.x - tx * size.x) / size.x * t.extent, py = (p.y - ty * size.y) / size.y * t.extent;
      for (var i = t.features.length - 1; i >= 0; i--) {
        var f = t.features[i], hit = false;
        f.rings.forEach(function (ring) { if (inRing(px, py, ring)) { hit = !hit; } });
        if (hit) { return f; }
      }
      return null;
    };
    // 'preclick' reaches the map before the layers below (grids) take the click; a building
    // hit wins over the grid's popup
    GM.claims.push(function (latlng) { return map.hasLayer(layer) && !!layer.featureAt(latlng); });
    map.on('click', function (e) {
      if (!map.hasLayer(layer) || !opts.popupUrl) { return; }
      if (map.getContainer().classList.contains('gm-measuring')) { return; }
      var f = layer.featureAt(e.latlng);
      if (!f || f.id === null) { return; }
      var popup = L.popup({maxWidth: 360}).setLatLng(e.latlng).setContent(S('loading')).openOn(map);
      fetch(opts.popupUrl.replace('__ID__', f.id), {credentials: 'same-origin'})
        .then(function (r) { return r.json(); })
        .then(function (props) { popup.setContent(popupHtml(opts.popup, props)); });
    });
    return layer;
  };

  // --- click to place a point (hazard reports); fills two inputs ---
  GM.pickPoint = function (map, opts) {
    var marker = null;
    function set(latlng) {
      if (marker) { marker.setLatLng(latlng); }
      else { marker = L.marker(latlng, {draggable: true}).addTo(map); marker.on('dragend', function () { set(marker.getLatLng()); }); }
      var lat = document.getElementById(opts.latInput), lon = document.getElementById(opts.lonInput);
      if (lat) { lat.value = latlng.lat.toFixed(7); lat.dispatchEvent(new Event('change')); }
      if (lon) { lon.value = latlng.lng.toFixed(7); lon.dispatchEvent(new Event('change')); }
    }
    map.on('click', function (e) {
      if (map.getContainer().classList.contains('gm-measuring')) { return; }
      set(e.latlng);
    });
    map.getContainer().classList.add('gm-picking');
    return {set: set};
  };

  // --- on a phone the layer control and the legends fold into buttons (tap to open) ---
  function foldControls() {
    if (!window.matchMedia || !window.matchMedia('(max-width: 760px)').matches) { return; }
    document.querySelectorAll('.leaflet-control-layers-expanded').forEach(function (c) {
      c.classList.remove('leaflet-control-layers-expanded');
      var link = c.querySelector('.leaflet-control-layers-toggle');
      if (link) { link.addEventListener('click', function () { c.classList.add('leaflet-control-layers-expanded'); }); }
      document.addEventListener('click', function (e) {
        if (!c.contains(e.target)) { c.classList.remove('leaflet-control-layers-expanded'); }
      });
    });
    document.querySelectorAll('.gm-legend, .leaflet-control.legend').forEach(function (legend) {
      legend.classList.add('gm-folded');
      legend.addEventListener('click', function () { legend.classList.toggle('gm-folded'); });
    });
  }
  window.addEventListener('load', foldControls);
})();
