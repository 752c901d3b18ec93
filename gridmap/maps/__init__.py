"""Map building on folium: pages, overlays and their offline (vendored) assets."""
