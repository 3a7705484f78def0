"""holders and claims: who holds a claim (process, host, database session), so that a claim
whose holder died can be taken over at once

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "holders",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("hostname", sa.Text(), nullable=False),
        sa.Column("boot_id", sa.String(length=64), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("pid_started", sa.String(length=32), nullable=True),
        sa.Column("backend_pid", sa.Integer(), nullable=True),
        sa.Column("backend_started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holders")),
    )
    op.create_table(
        "claims",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_claims")),
    )


def downgrade() -> None:
    op.drop_table("claims")
    op.drop_table("holders")
