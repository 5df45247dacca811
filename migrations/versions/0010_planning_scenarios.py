"""planning scenarios

The access planner's saved answers, and the sites each one covers (a caller must hold
every one of them to read it).

Revision ID: 0010_planning_scenarios
Revises: 0003
Create Date: 2026-11-29

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = '0010_planning_scenarios'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('planning_scenario',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('coverage_pct', sa.Float(), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_planning_scenario_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_scenario'))
    )
    with op.batch_alter_table('planning_scenario', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_planning_scenario_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_planning_scenario_site_id'), ['site_id'], unique=False)

    op.create_table('planning_scenario_site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['scenario_id'], ['planning_scenario.id'], name=op.f('fk_planning_scenario_site_scenario_id_planning_scenario')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_planning_scenario_site_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_scenario_site')),
    sa.UniqueConstraint('scenario_id', 'site_id', name=op.f('uq_planning_scenario_site_scenario_id_site_id'))
    )
    with op.batch_alter_table('planning_scenario_site', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_planning_scenario_site_site_id'), ['site_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('planning_scenario_site', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_planning_scenario_site_site_id'))

    op.drop_table('planning_scenario_site')
    with op.batch_alter_table('planning_scenario', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_planning_scenario_site_id'))
        batch_op.drop_index(batch_op.f('ix_planning_scenario_region'))

    op.drop_table('planning_scenario')
