"""The trained models and their deployments (bot/model_store.py, "Train and deploy").

Revision ID: r0004
Revises: r0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql.elements import TextClause

revision = "r0004"
down_revision = "r0003"
branch_labels = None
depends_on = None


def _at_most_one(status: str) -> dict[str, TextClause]:
    """The options of a partial unique index: at most one row may have `status` (SQLite and
    PostgreSQL both support them)."""
    where = sa.text(f"status = '{status}'")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    op.create_table(
        "review_models",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("file_name", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(16)),
        sa.Column("method", sa.String(16)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("base_model_id", sa.String(40)),
        sa.Column("data_digest", sa.String(64)),
        sa.Column("config_digest", sa.String(64)),
        sa.Column("corrections_count", sa.Integer),
        sa.Column("evaluation", sa.Text),
        sa.Column("reasons", sa.Text),
        sa.Column("log_path", sa.String(500)),
        sa.Column("pid", sa.Integer),
        sa.Column("host", sa.String(255)),
        sa.Column("heartbeat_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.PrimaryKeyConstraint("id", name="pk_review_models"),
    )
    for status in ("live", "training"):
        op.create_index(
            f"uq_review_models_{status}",
            "review_models",
            ["status"],
            unique=True,
            **_at_most_one(status),
        )
    op.create_table(
        "review_deployments",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("model_id", sa.String(40), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("deployed_by", sa.String(80), nullable=False),
        sa.Column("deployed_at", sa.Float, nullable=False),
        sa.Column("previous_model_id", sa.String(40)),
        sa.PrimaryKeyConstraint("id", name="pk_review_deployments"),
    )
    op.create_index("ix_review_deployments_deployed_at", "review_deployments", ["deployed_at"])


def downgrade() -> None:
    op.drop_table("review_deployments")
    op.drop_table("review_models")
