"""The Flask service: app factory, blueprints, templates and static assets."""
