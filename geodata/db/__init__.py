"""Database access: models, engine, migrations, and the repositories."""
