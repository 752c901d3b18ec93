"""`gridmap token add|list|revoke`: personal API tokens for QGIS, GDAL and other systems."""

from __future__ import annotations

import json

import click

from gridmap_cli.common import command_session


@click.group()
def token() -> None:
    """Personal API tokens (sent as Authorization: Bearer, or HTTP Basic user:token)."""


@token.command("add")
@click.argument("username")
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=int,
    help="Valid for this many days; 0: until revoked.",
)
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
def token_add(username: str, days: int, name: str) -> None:
    """Make a token for USERNAME and print it once (only its hash is kept)."""
    from geodata.db.tokens import create_token

    with command_session() as session:
        row, secret = create_token(session, username, name=name, days=days or None)
        until = row.expires_at.strftime("%Y-%m-%d %H:%M") if row.expires_at else "revoked"
        token_id = row.id
    click.echo(f"token {token_id} for {username} ({name}), valid until {until}:")
    click.echo(secret)


@token.command("list")
@click.argument("username", required=False)
@click.option("--json", "as_json", is_flag=True)
def token_list(username: str | None, as_json: bool) -> None:
    """Tokens (never the secret): id, user, name, prefix, state, expiry, last use."""
    from geodata.db.tokens import token_state, tokens_of

    def when(t):
        return t.strftime("%Y-%m-%d %H:%M") if t else ""

    with command_session() as session:
        rows = [
            {
                "id": r.id,
                "user": r.user.username,
                "name": r.name,
                "prefix": r.prefix,
                "state": token_state(r),
                "expires": when(r.expires_at),
                "last_used": when(r.last_used_at),
            }
            for r in tokens_of(session, username)
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        click.echo(
            f"{r['id']:>4}  {r['user']:<16} {r['name']:<20} {r['prefix']}…  "
            f"{r['state']:<8} {r['expires'] or '-':<16} {r['last_used'] or '-'}"
        )


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID at once (see `gridmap token list`)."""
    from geodata.db.tokens import revoke_token

    with command_session() as session:
        row = revoke_token(session, token_id)
        who = row.user.username
    click.echo(f"token {token_id} of {who} revoked")
