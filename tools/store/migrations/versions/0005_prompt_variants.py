"""prompt variants

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('prompt_variants',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('directory', sa.String(length=500), nullable=False),
    sa.Column('prompt_hash', sa.String(length=64), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('weight >= 0', name=op.f('ck_prompt_variants_weight_non_negative')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_prompt_variants'))
    )


def downgrade() -> None:
    op.drop_table('prompt_variants')
