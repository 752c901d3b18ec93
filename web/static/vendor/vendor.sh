#!/usr/bin/env bash
# Re-creates web/static/vendor/ from the npm registry (and from the installed
# folium wheel for the few files folium itself hosts). See README.md here.
#
#   bash web/static/vendor/vendor.sh            # from the repository root
#
# Needs: npm, tar, and the project virtualenv (.venv) with folium installed.
# The mapping CDN URL -> vendored path lives in gridmap/maps/offline.py
# (ASSET_MAP); tests/test_offline_assets.py checks both sides agree.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
DEST="$ROOT/web/static/vendor"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# unpack NAME@VERSION -> prints the unpacked package directory
unpack() {
    local spec="$1" dir
    dir="$WORK/$(echo "$spec" | tr '/@' '__')"
    mkdir -p "$dir"
    (cd "$dir" && npm pack "$spec" --silent >/dev/null 2>&1 && tar xzf ./*.tgz 2>/dev/null)
    echo "$dir/package"
}

# mit_license "Copyright (c) ..." -> the MIT licence text on stdout
mit_license() {
    cat <<MIT
The MIT License (MIT)

$1

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
MIT
}

# put SRC DEST_RELATIVE_PATH
put() {
    mkdir -p "$(dirname "$DEST/$2")"
    cp "$1" "$DEST/$2"
}

FOLIUM_DIR="$("$PY" -c 'import folium, os; print(os.path.dirname(folium.__file__))')"
FOLIUM_LICENSE="$("$PY" -c 'import importlib.metadata as m; d = m.distribution("folium"); print([str(d.locate_file(f)) for f in d.files if f.name.startswith("LICENSE")][0])')"

# --- folium.Map defaults -----------------------------------------------------
p=$(unpack leaflet@1.9.3)
put "$p/dist/leaflet.js" leaflet/1.9.3/leaflet.js
put "$p/dist/leaflet.css" leaflet/1.9.3/leaflet.css
for f in layers.png layers-2x.png marker-icon.png marker-icon-2x.png marker-shadow.png; do
    put "$p/dist/images/$f" "leaflet/1.9.3/images/$f"
done
put "$p/LICENSE" leaflet/1.9.3/LICENSE

p=$(unpack jquery@3.7.1)
put "$p/dist/jquery.min.js" jquery/3.7.1/jquery.min.js
put "$p/LICENSE.txt" jquery/3.7.1/LICENSE.txt

p=$(unpack bootstrap@5.2.2)
put "$p/dist/css/bootstrap.min.css" bootstrap/5.2.2/css/bootstrap.min.css
put "$p/dist/js/bootstrap.bundle.min.js" bootstrap/5.2.2/js/bootstrap.bundle.min.js
put "$p/LICENSE" bootstrap/5.2.2/LICENSE

# Bootstrap 3 glyphicons: folium links the old stand-alone
# bootstrap-glyphicons.css; we cut the same rules (the @font-face and the
# .glyphicon* classes) out of the Bootstrap 3.4.1 dist css.
p=$(unpack bootstrap@3.4.1)
mkdir -p "$DEST/bootstrap3-glyphicons/3.4.1/css"
{
    echo '/*! Glyphicons Halflings rules extracted from Bootstrap v3.4.1 dist/css/bootstrap.css'
    echo ' * (https://getbootstrap.com/), Copyright 2011-2019 Twitter, Inc., MIT licensed; see ../LICENSE.'
    echo ' * Stand-in for netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css. */'
    awk '/^@font-face/ && !s {s=1} s && /^\* \{/ {exit} s {print}' "$p/dist/css/bootstrap.css"
} > "$DEST/bootstrap3-glyphicons/3.4.1/css/bootstrap-glyphicons.css"
for ext in eot svg ttf woff woff2; do
    put "$p/dist/fonts/glyphicons-halflings-regular.$ext" \
        "bootstrap3-glyphicons/3.4.1/fonts/glyphicons-halflings-regular.$ext"
done
put "$p/LICENSE" bootstrap3-glyphicons/3.4.1/LICENSE

p=$(unpack @fortawesome/fontawesome-free@6.2.0)
put "$p/css/all.min.css" fontawesome-free/6.2.0/css/all.min.css
for f in "$p"/webfonts/*.woff2 "$p"/webfonts/*.ttf; do
    put "$f" "fontawesome-free/6.2.0/webfonts/$(basename "$f")"
done
put "$p/LICENSE.txt" fontawesome-free/6.2.0/LICENSE.txt

# Leaflet.awesome-markers 2.0.2 (lvoogdt) as republished on npm by drmonty;
# that package carries no LICENSE file, so the upstream MIT text is taken
# from leaflet.awesome-markers@2.0.5 (same author and copyright line).
p=$(unpack drmonty-leaflet-awesome-markers@2.0.2)
put "$p/js/leaflet.awesome-markers.js" leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js
put "$p/css/leaflet.awesome-markers.css" leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css
for f in markers-soft.png markers-soft@2x.png markers-shadow.png markers-shadow@2x.png; do
    put "$p/css/images/$f" "leaflet.awesome-markers/2.0.2/images/$f"
done
p=$(unpack leaflet.awesome-markers@2.0.5)
put "$p/LICENSE" leaflet.awesome-markers/2.0.2/LICENSE

# leaflet.awesome.rotate.css: folium links it from its own GitHub tree
# (jsDelivr "gh" URL), which is no package; generate the equivalent rules.
mkdir -p "$DEST/leaflet.awesome.rotate"
{
    echo '/* gridmap stand-in for folium'"'"'s leaflet.awesome.rotate.min.css'
    echo ' * (cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/).'
    echo ' * folium.Icon(angle=N) adds the class "fa-rotate-N" to the marker glyph; these'
    echo ' * rules turn it by N degrees, N = 0..359. Generated by vendor.sh; public domain. */'
    for n in $(seq 0 359); do
        echo ".fa-rotate-$n{transform:rotate(${n}deg)}"
    done
} > "$DEST/leaflet.awesome.rotate/leaflet.awesome.rotate.css"

# --- plugins -----------------------------------------------------------------
p=$(unpack leaflet.markercluster@1.1.0)
for f in leaflet.markercluster.js MarkerCluster.css MarkerCluster.Default.css; do
    put "$p/dist/$f" "leaflet.markercluster/1.1.0/$f"
done
put "$p/MIT-LICENCE.txt" leaflet.markercluster/1.1.0/MIT-LICENCE.txt

p=$(unpack leaflet.fullscreen@3.0.0)
for f in Control.FullScreen.js Control.FullScreen.css icon-fullscreen.svg LICENSE; do
    put "$p/$f" "leaflet.fullscreen/3.0.0/$f"
done

p=$(unpack leaflet-measure@2.1.7)
put "$p/dist/leaflet-measure.min.js" leaflet-measure/2.1.7/leaflet-measure.min.js
put "$p/dist/leaflet-measure.css" leaflet-measure/2.1.7/leaflet-measure.css
for f in "$p"/dist/images/*.png; do
    put "$f" "leaflet-measure/2.1.7/images/$(basename "$f")"
done
put "$p/LICENSE" leaflet-measure/2.1.7/LICENSE

p=$(unpack leaflet-minimap@3.6.1)
put "$p/src/Control.MiniMap.js" leaflet-minimap/3.6.1/Control.MiniMap.js
put "$p/src/Control.MiniMap.css" leaflet-minimap/3.6.1/Control.MiniMap.css
put "$p/src/images/toggle.png" leaflet-minimap/3.6.1/images/toggle.png
put "$p/src/images/toggle.svg" leaflet-minimap/3.6.1/images/toggle.svg
put "$p/LICENSE.txt" leaflet-minimap/3.6.1/LICENSE.txt

p=$(unpack leaflet-draw@1.0.2)
put "$p/dist/leaflet.draw.js" leaflet-draw/1.0.2/leaflet.draw.js
put "$p/dist/leaflet.draw.css" leaflet-draw/1.0.2/leaflet.draw.css
for f in spritesheet.png spritesheet-2x.png spritesheet.svg; do
    put "$p/dist/images/$f" "leaflet-draw/1.0.2/images/$f"
done
# leaflet-draw ships no LICENSE file: write the MIT text its package.json
# names, with the copyright line from the head of leaflet.draw.js.
mit_license "Copyright (c) 2012-2017, Jacob Toye, Jon West, Smartrak, Leaflet" \
    > "$DEST/leaflet-draw/1.0.2/LICENSE"

p=$(unpack leaflet.locatecontrol@0.66.2)
put "$p/dist/L.Control.Locate.min.js" leaflet.locatecontrol/0.66.2/L.Control.Locate.min.js
put "$p/dist/L.Control.Locate.min.css" leaflet.locatecontrol/0.66.2/L.Control.Locate.min.css
put "$p/LICENSE" leaflet.locatecontrol/0.66.2/LICENSE

p=$(unpack leaflet-mouse-position@1.2.0)
put "$p/src/L.Control.MousePosition.js" leaflet-mouse-position/1.2.0/L.Control.MousePosition.js
put "$p/src/L.Control.MousePosition.css" leaflet-mouse-position/1.2.0/L.Control.MousePosition.css
put "$p/MIT-LICENCE.txt" leaflet-mouse-position/1.2.0/MIT-LICENCE.txt

p=$(unpack leaflet-search@2.9.7)
put "$p/dist/leaflet-search.min.js" leaflet-search/2.9.7/dist/leaflet-search.min.js
put "$p/dist/leaflet-search.min.css" leaflet-search/2.9.7/dist/leaflet-search.min.css
put "$p/images/search-icon.png" leaflet-search/2.9.7/images/search-icon.png
put "$p/images/loader.gif" leaflet-search/2.9.7/images/loader.gif
put "$p/license.txt" leaflet-search/2.9.7/license.txt

# HeatMap / HeatMapWithTime: folium hosts these builds itself (its GitHub
# tree via jsDelivr); the identical files ship inside the folium wheel.
put "$FOLIUM_DIR/templates/leaflet_heat.min.js" folium-templates/leaflet_heat.min.js
put "$FOLIUM_DIR/templates/pa7_hm.min.js" folium-templates/pa7_hm.min.js
put "$FOLIUM_DIR/templates/pa7_leaflet_hm.min.js" folium-templates/pa7_leaflet_hm.min.js
put "$FOLIUM_LICENSE" folium-templates/LICENSE.txt

p=$(unpack d3@4.13.0)
put "$p/build/d3.min.js" d3/4.13.0/d3.min.js
put "$p/LICENSE" d3/4.13.0/LICENSE

p=$(unpack d3@3.5.5)
put "$p/d3.min.js" d3/3.5.5/d3.min.js
put "$p/LICENSE" d3/3.5.5/LICENSE

p=$(unpack moment@2.18.1)
put "$p/min/moment.min.js" moment/2.18.1/moment.min.js
put "$p/LICENSE" moment/2.18.1/LICENSE

# jquery-ui 1.10.x on npm is a CommonJS (require) repackaging, not a browser
# build; jquery-ui-dist 1.13.3 is the browser build (and fixes the 1.10 XSS
# advisories). Nothing folium renders calls jQuery UI; it is only linked.
p=$(unpack jquery-ui-dist@1.13.3)
put "$p/jquery-ui.min.js" jquery-ui/1.13.3/jquery-ui.min.js
put "$p/LICENSE.txt" jquery-ui/1.13.3/LICENSE.txt

p=$(unpack iso8601-js-period@0.2.1)
put "$p/iso8601.js" iso8601-js-period/0.2.1/iso8601.js
put /usr/share/common-licenses/Apache-2.0 iso8601-js-period/0.2.1/LICENSE

p=$(unpack leaflet-timedimension@1.1.1)
put "$p/dist/leaflet.timedimension.min.js" leaflet-timedimension/1.1.1/leaflet.timedimension.min.js
# Its control css loads the glyphicons font from netdna.bootstrapcdn.com;
# point those url()s at the vendored Bootstrap 3 fonts instead.
mkdir -p "$DEST/leaflet-timedimension/1.1.1"
{
    echo '/* gridmap: glyphicons url()s rewritten from //netdna.bootstrapcdn.com/bootstrap/3.0.0/fonts/ to the vendored copy. */'
    sed 's#//netdna\.bootstrapcdn\.com/bootstrap/3\.0\.0/fonts/#../../bootstrap3-glyphicons/3.4.1/fonts/#g' \
        "$p/dist/leaflet.timedimension.control.css"
} > "$DEST/leaflet-timedimension/1.1.1/leaflet.timedimension.control.css"
put "$p/LICENSE" leaflet-timedimension/1.1.1/LICENSE

p=$(unpack highlight.js@8.4.0)
put "$p/styles/default.css" highlight.js/8.4.0/styles/default.css
put "$p/LICENSE" highlight.js/8.4.0/LICENSE

p=$(unpack leaflet.featuregroup.subgroup@1.0.2)
put "$p/dist/leaflet.featuregroup.subgroup.js" leaflet.featuregroup.subgroup/1.0.2/leaflet.featuregroup.subgroup.js
put "$p/LICENSE" leaflet.featuregroup.subgroup/1.0.2/LICENSE

p=$(unpack leaflet-groupedlayercontrol@0.6.1)
put "$p/dist/leaflet.groupedlayercontrol.min.js" leaflet-groupedlayercontrol/0.6.1/leaflet.groupedlayercontrol.min.js
put "$p/dist/leaflet.groupedlayercontrol.min.css" leaflet-groupedlayercontrol/0.6.1/leaflet.groupedlayercontrol.min.css
put "$p/LICENSE.txt" leaflet-groupedlayercontrol/0.6.1/LICENSE.txt

p=$(unpack beautifymarker@1.0.9)
for f in leaflet-beautify-marker-icon.js leaflet-beautify-marker-icon.css LICENSE; do
    put "$p/$f" "beautifymarker/1.0.9/$f"
done

p=$(unpack leaflet.vectorgrid@1.3.0)
put "$p/dist/Leaflet.VectorGrid.bundled.min.js" leaflet.vectorgrid/1.3.0/Leaflet.VectorGrid.bundled.min.js
# No LICENSE file in the package: quote the licence section of its README.md.
{
    echo "Leaflet.VectorGrid 1.3.0 (npm leaflet.vectorgrid) ships no LICENSE file;"
    echo "package.json says \"Beerware\". The bundled build also contains geojson-vt (ISC),"
    echo "pbf, topojson and vector-tile (BSD). Licence section of its README.md:"
    echo
    awk '/^## Legalese/ {s=1} s {print}' "$p/README.md"
} > "$DEST/leaflet.vectorgrid/1.3.0/LICENSE"

p=$(unpack leaflet.control.layers.tree@1.1.0)
for f in L.Control.Layers.Tree.js L.Control.Layers.Tree.css LICENSE; do
    put "$p/$f" "leaflet.control.layers.tree/1.1.0/$f"
done

p=$(unpack topojson@1.6.9)
put "$p/topojson.min.js" topojson/1.6.9/topojson.min.js
put "$p/LICENSE" topojson/1.6.9/LICENSE

p=$(unpack leaflet-realtime@2.2.0)
put "$p/dist/leaflet-realtime.min.js" leaflet-realtime/2.2.0/leaflet-realtime.min.js
put "$p/LICENSE.md" leaflet-realtime/2.2.0/LICENSE.md

p=$(unpack leaflet.timeline@1.6.0)
put "$p/dist/leaflet.timeline.js" leaflet.timeline/1.6.0/leaflet.timeline.js
put "$p/LICENSE" leaflet.timeline/1.6.0/LICENSE

echo "vendored into $DEST: $(du -sh "$DEST" | cut -f1)"
